// Program structure under Pulumi mocks: names, wiring, environment, hardening, and what a colour flip changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { byName, runProgram } from "../helpers/mocks";

describe("the NotesHub program (mocks)", () => {
    it("declares network, volumes, database, three images, two colours and the balancer with stack-scoped names", async () => {
        const { resources, outputs } = await runProgram();
        const containers = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/docker:Container").map((r) => r.inputs.name).sort();
        assert.deepEqual(containers, ["noteshub-staging-blue", "noteshub-staging-blue-addr", "noteshub-staging-db", "noteshub-staging-green", "noteshub-staging-green-addr", "noteshub-staging-lb"]);
        assert.equal(byName(resources, "network").inputs.name, "noteshub-staging-net");
        assert.equal(byName(resources, "uploads").inputs.name, "noteshub-staging-uploads");
        assert.equal(byName(resources, "database-data").inputs.name, "noteshub-staging-dbdata");
        const images = resources.filter((r) => r.name.startsWith("app-images-v")).map((r) => [r.inputs.name, r.inputs.build.args.APP_VERSION]);
        assert.deepEqual(images.sort(), [["noteshub-api:v0.9.0", "v0.9.0"], ["noteshub-api:v1.0.0", "v1.0.0"], ["noteshub-api:v1.0.1", "v1.0.1"]]);
        assert.deepEqual(outputs.versions, { blue: "v1.0.0", green: "v1.0.1" });
        assert.equal(outputs.liveColor, "blue");
        assert.equal(outputs.url, "http://127.0.0.1:8080");
        assert.deepEqual(outputs.retainedVersions, { current: "v1.0.1", previous: "v1.0.0", archived: "v0.9.0" });
    });

    it("gives each colour the runbook's environment and the shared uploads volume", async () => {
        const { resources } = await runProgram();
        const blue = byName(resources, "blue-container").inputs;
        assert.equal(blue.image, "noteshub-api:v1.0.0");
        assert.equal(blue.imageId, "sha256:noteshub-api:v1.0.0");
        assert.equal(blue.env.APP_VERSION, "1.0.0");
        assert.equal(blue.env.DEPLOYMENT_ENV, "blue");
        assert.equal(blue.env.PREVIOUS_VERSION, "0.9.0");
        assert.equal(blue.env.MONGODB_URI, "mongodb://noteshub:a-long-staging-password@noteshub-staging-db:27017/noteshub?authSource=admin");
        assert.deepEqual(byName(resources, "blue-container").secrets, ["env"], "the environment carries the password");
        assert.deepEqual(blue.mounts, [{ volume: "noteshub-staging-uploads", target: "/app/uploads" }]);
        assert.deepEqual(blue.ports, []);
        assert.equal(byName(resources, "green-container").inputs.env.PREVIOUS_VERSION, "1.0.0");
        for (const name of ["blue-container", "green-container", "lb-container"]) {
            const c = byName(resources, name).inputs;
            assert.deepEqual(c.capDrop, ["ALL"], name);
            assert.deepEqual(c.securityOpt, ["no-new-privileges:true"], name);
        }
    });

    it("publishes the database only on loopback when asked, never otherwise", async () => {
        const staging = byName((await runProgram()).resources, "database-container").inputs;
        assert.deepEqual(staging.ports, [{ container: 27017, host: 27018, hostIp: "127.0.0.1" }]);
        assert.deepEqual(staging.env, { MONGO_INITDB_ROOT_USERNAME: "noteshub", MONGO_INITDB_ROOT_PASSWORD: "a-long-staging-password" });
        assert.deepEqual(byName((await runProgram()).resources, "database-container").secrets, ["env"]);
        const prod = await runProgram({ environment: "production", database: { image: "mongo:7.0", password: "prod-password-long" }, app: { repository: "registry.local/noteshub" } }, "production");
        const db = byName(prod.resources, "database-container").inputs;
        assert.deepEqual(db.ports, []);
        assert.equal(db.image, "mongo:7.0");
        assert.equal(byName(prod.resources, "database-image").inputs.build, undefined, "production pulls the official image");
        assert.equal(byName(prod.resources, "blue-container").inputs.image, "registry.local/noteshub:v1.0.0");
        assert.equal(byName(prod.resources, "blue-container").inputs.name, "noteshub-production-blue");
    });

    it("routes to the active colour, and a flip changes nothing but the traffic state", async () => {
        const blue = await runProgram({ activeColor: "blue" });
        const green = await runProgram({ activeColor: "green" });
        assert.deepEqual(JSON.parse(byName(blue.resources, "lb-routes").inputs.state).weights, { blue: 100, green: 0 });
        assert.deepEqual(JSON.parse(byName(green.resources, "lb-routes").inputs.state).weights, { blue: 0, green: 100 });
        assert.equal(byName(blue.resources, "lb-routes").inputs.content, byName(green.resources, "lb-routes").inputs.content, "no reload");
        const differing = blue.resources
            .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(byName(green.resources, r.name).inputs))
            .map((r) => r.name);
        // The gates re-verify the colour becoming live (and note the other going idle), the release record notes the
        // new colour; no container changes.
        assert.deepEqual(differing, ["lb-gate-blue", "lb-gate-green", "lb-routes", "release"]);
        assert.equal(byName(green.resources, "lb-gate-green").inputs.live, true);
        assert.equal(byName(green.resources, "lb-gate-blue").inputs.live, false);
    });

    it("puts the live colour's health gate between it and the routes", async () => {
        const { resources } = await runProgram({ healthGate: { intervalMs: 500, smoke: ["GET /api/notes", "GET /health"] } });
        const gate = byName(resources, "lb-gate-green").inputs;
        assert.equal(gate.host, "noteshub-staging-green-addr", "the colour's address: its holder's");
        assert.equal(gate.container, "noteshub-staging-green", "logs are the app container's");
        assert.equal(gate.port, 8000);
        assert.equal(gate.version, "v1.0.1");
        assert.deepEqual(gate.guards, { containerId: "cid-noteshub-staging-green", imageId: "sha256:noteshub-api:v1.0.1" });
        assert.equal(gate.probeContainerId, "cid-noteshub-staging-lb");
        assert.deepEqual(gate.settings, {
            intervalMs: 500, successThreshold: 3, failureThreshold: 3, timeoutSec: 60,
            smoke: [{ method: "GET", path: "/api/notes", status: 200 }, { method: "GET", path: "/health", status: 200 }],
        });
        assert.deepEqual(byName(resources, "lb-routes").inputs.gates, { blue: "passed-blue" }, "routes wait for the live colour's gate");
    });

    it("gives each colour an address holder the app joins, so the routes follow the holders, not the versions", async () => {
        const { resources } = await runProgram();
        const holder = byName(resources, "green-address").inputs;
        assert.deepEqual([holder.name, holder.image, holder.command, holder.user, holder.network], ["noteshub-staging-green-addr", "noteshub-lb:noteshub-staging", ["sleep", "infinity"], "www-data", "noteshub-staging-net"]);
        assert.equal(byName(resources, "green-container").inputs.network, "container:cid-noteshub-staging-green-addr");
        assert.deepEqual(byName(resources, "lb-routes").inputs.backends, { blue: "cid-noteshub-staging-blue-addr", green: "cid-noteshub-staging-green-addr" });
        assert.match(byName(resources, "lb-routes").inputs.content, /server noteshub-staging-green-addr:8000 max_fails=0;/);
    });

    it("during a gradual shift both colours get a share, and the routes wait for both gates", async () => {
        const { resources, outputs } = await runProgram({ activeColor: "green", traffic: 25 });
        const routes = byName(resources, "lb-routes").inputs;
        assert.deepEqual(routes.weights, { blue: 75, green: 25 });
        assert.deepEqual(routes.gates, { blue: "passed-blue", green: "passed-green" });
        assert.equal(byName(resources, "lb-gate-blue").inputs.live, true);
        assert.equal(byName(resources, "lb-gate-green").inputs.live, true);
        assert.deepEqual(outputs.traffic, { blue: 75, green: 25 });
        assert.equal(byName(resources, "release").inputs.traffic, 25);
    });

    it("a version change touches only that colour", async () => {
        const before = await runProgram();
        const after = await runProgram({ greenVersion: "v0.9.0" });
        const differing = before.resources
            .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(byName(after.resources, r.name).inputs))
            .map((r) => r.name);
        // v0.9.0 needs no migration, blue's v1.0.0 needs 001: the target drops from 2 to 1.
        assert.deepEqual(differing.sort(), ["green-container", "lb-gate-green", "lb-routes", "migrations", "release"]);
        assert.equal(byName(after.resources, "migrations").inputs.target, 1);
    });
});
