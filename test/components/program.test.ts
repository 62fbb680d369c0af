// Program structure under Pulumi mocks: names, wiring, environment, hardening, and what a colour flip changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeDigest, productionValues } from "../helpers/config";
import { byName, runProgram } from "../helpers/mocks";
import { appLogin } from "../../infra/components/database";
import { hashOf } from "../../policy/liveSpec";

describe("the NotesHub program (mocks)", () => {
    it("declares network, volumes, database, three images, two colours and the balancer with stack-scoped names", async () => {
        const { resources, outputs } = await runProgram();
        const containers = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/docker:Container").map((r) => r.inputs.name).sort();
        assert.deepEqual(containers.map((n) => n.replace(/-lb-[0-9a-f]{10}$/, "-lb-<hash>")), [
            "noteshub-staging-blue", "noteshub-staging-blue-addr", "noteshub-staging-db", "noteshub-staging-green", "noteshub-staging-green-addr",
            "noteshub-staging-lb", "noteshub-staging-lb-<hash>",
        ]);
        assert.equal(byName(resources, "network").inputs.name, "noteshub-staging-net");
        assert.equal(byName(resources, "uploads").inputs.name, "noteshub-staging-uploads");
        assert.equal(byName(resources, "database-data").inputs.name, "noteshub-staging-dbdata");
        const images = resources.filter((r) => r.name.startsWith("app-images-v")).map((r) => [r.inputs.name, r.inputs.build.args.APP_VERSION]);
        // Built under the stack's own repository: another stack's build (the tests') can't move these tags (issue #12).
        assert.deepEqual(images.sort(), [["noteshub-staging/noteshub-api:v0.9.0", "v0.9.0"], ["noteshub-staging/noteshub-api:v1.0.0", "v1.0.0"], ["noteshub-staging/noteshub-api:v1.0.1", "v1.0.1"]]);
        assert.ok(resources.filter((r) => r.type.endsWith(":Image")).every((r) => r.inputs.name.startsWith("noteshub-staging/") && r.inputs.removeOnDelete === true && r.inputs.source === undefined));
        assert.deepEqual(outputs.versions, { blue: "v1.0.0", green: "v1.0.1" });
        assert.equal(outputs.liveColor, "blue");
        assert.equal(outputs.url, "http://127.0.0.1:8080");
        assert.deepEqual(outputs.retainedVersions, { current: "v1.0.1", previous: "v1.0.0", archived: "v0.9.0" });
    });

    it("gives each colour the runbook's environment and the shared uploads volume", async () => {
        const { resources } = await runProgram();
        const blue = byName(resources, "blue-container").inputs;
        assert.equal(blue.image, "noteshub-staging/noteshub-api:v1.0.0");
        assert.equal(blue.imageId, "sha256:noteshub-staging/noteshub-api:v1.0.0");
        assert.equal(blue.env.APP_VERSION, "1.0.0");
        assert.equal(blue.env.DEPLOYMENT_ENV, "blue");
        // Fixed when the colour starts its version: a later shift of the retained list never restarts it.
        assert.equal(blue.env.PREVIOUS_VERSION, undefined);
        assert.deepEqual(blue.startEnv, { PREVIOUS_VERSION: "0.9.0", NOTESHUB_DRAIN_SEC: "30" });
        assert.equal(blue.stopTimeoutSec, 30, "app.drainSec: requests in flight get 30 s to finish");
        // The app's own login (made by the migrations run), never the root password.
        const app = appLogin({ username: "noteshub", password: "a-long-staging-password" }, "noteshub-staging");
        assert.equal(blue.env.MONGODB_URI, `mongodb://noteshub-app:${app.password}@noteshub-staging-db:27017/noteshub?authSource=admin`);
        assert.deepEqual(byName(resources, "migrations").inputs.appUser, app);
        for (const name of ["blue-container", "green-container"]) assert.ok(!JSON.stringify(byName(resources, name).inputs).includes("a-long-staging-password"), `${name} holds no root password`);
        assert.equal(app.password.length, 32);
        assert.notEqual(appLogin({ username: "noteshub", password: "a-long-staging-password" }, "noteshub-other").password, app.password, "each stack its own");
        assert.deepEqual(byName(resources, "blue-container").secrets.sort(), ["env", "guard"], "the environment carries the password, the guard its hash");
        assert.deepEqual(blue.mounts, [{ volume: "noteshub-staging-uploads", target: "/app/uploads" }]);
        assert.deepEqual(blue.ports, []);
        assert.deepEqual(byName(resources, "green-container").inputs.startEnv, { PREVIOUS_VERSION: "1.0.0", NOTESHUB_DRAIN_SEC: "30" });
        for (const name of ["blue-container", "green-container", "lb-container", "lb-nginx", "blue-address"]) {
            const c = byName(resources, name).inputs;
            assert.deepEqual(c.capDrop, ["ALL"], name);
            assert.deepEqual(c.securityOpt, ["no-new-privileges:true"], name);
        }
    });

    it("publishes the database only on loopback when asked, never otherwise", async () => {
        const staging = byName((await runProgram()).resources, "database-container").inputs;
        assert.deepEqual(staging.ports, [{ container: 27017, host: 27018, hostIp: "127.0.0.1" }]);
        assert.deepEqual(staging.env, { MONGO_INITDB_ROOT_USERNAME: "noteshub", MONGO_INITDB_ROOT_PASSWORD: "a-long-staging-password" });
        assert.deepEqual(byName((await runProgram()).resources, "database-container").secrets.sort(), ["env", "guard"]);
        const prod = await runProgram(productionValues({ loadBalancer: { port: 8080 }, docker: { host: "unix:///var/run/docker.sock" } }), "production");
        const db = byName(prod.resources, "database-container").inputs;
        assert.deepEqual(db.ports, []);
        // Pulled by its digest, tagged under the stack's own: another stack's pull never moves it.
        assert.equal(db.image, "noteshub-production/mongo:7.0");
        assert.deepEqual([byName(prod.resources, "database-image").inputs.source, byName(prod.resources, "database-image").inputs.build], [`mongo:7.0@${fakeDigest(4)}`, undefined], "production pulls the official image, pinned");
        assert.equal(byName(prod.resources, "blue-container").inputs.image, "noteshub-production/noteshub-api:v1.0.0");
        // Each version from the registry by the digest its release recorded.
        assert.equal(byName(prod.resources, "app-images-v1.0.0").inputs.source, `192.0.2.10:5000/noteshub/noteshub-api:v1.0.0@${fakeDigest(2)}`);
        assert.equal(byName(prod.resources, "blue-container").inputs.name, "noteshub-production-blue");
    });

    it("routes to the active colour, and a flip changes nothing but the traffic state", async () => {
        const blue = await runProgram({ activeColor: "blue" });
        const green = await runProgram({ activeColor: "green" });
        assert.deepEqual(JSON.parse(byName(blue.resources, "lb-traffic").inputs.state).weights, { blue: 100, green: 0 });
        assert.deepEqual(JSON.parse(byName(green.resources, "lb-traffic").inputs.state).weights, { blue: 0, green: 100 });
        const differing = blue.resources
            .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(byName(green.resources, r.name).inputs))
            .map((r) => r.name);
        // The gates re-verify the colour becoming live (and note the other going idle), the release record notes the
        // new colour; no container changes, the nginx instance included (no new routes, no handover).
        assert.deepEqual(differing, ["lb-gate-blue", "lb-gate-green", "lb-traffic", "release"]);
        assert.equal(byName(green.resources, "lb-gate-green").inputs.live, true);
        assert.equal(byName(green.resources, "lb-gate-blue").inputs.live, false);
    });

    it("puts the live colour's health gate between it and the traffic state, probing from the balancer's holder", async () => {
        const { resources } = await runProgram({ healthGate: { intervalMs: 500, smoke: ["GET /api/notes", "GET /health"] } });
        const gate = byName(resources, "lb-gate-green").inputs;
        assert.equal(gate.host, "noteshub-staging-green-addr", "the colour's address: its holder's");
        assert.equal(gate.container, "noteshub-staging-green", "logs are the app container's");
        assert.equal(gate.port, 8000);
        assert.equal(gate.version, "v1.0.1");
        assert.deepEqual(gate.guards, { containerId: "cid-noteshub-staging-green", imageId: "sha256:noteshub-staging/noteshub-api:v1.0.1" });
        assert.equal(gate.probeContainerId, "cid-noteshub-staging-lb");
        assert.deepEqual(gate.settings, {
            intervalMs: 500, successThreshold: 3, failureThreshold: 3, timeoutSec: 60,
            smoke: [{ method: "GET", path: "/api/notes", status: 200 }, { method: "GET", path: "/health", status: 200 }],
        });
        assert.deepEqual(byName(resources, "lb-traffic").inputs.gates, { blue: "passed-blue" }, "traffic waits for the live colour's gate");
        assert.equal(byName(resources, "lb-traffic").inputs.containerId, "cid-noteshub-staging-lb", "the state is swapped in the holder");
    });

    it("holds the port and the colours' addresses in holders that don't run the balancer image", async () => {
        const { resources } = await runProgram();
        const holder = byName(resources, "green-address").inputs;
        assert.deepEqual([holder.name, holder.image, holder.command, holder.user, holder.network], ["noteshub-staging-green-addr", "noteshub-staging/holder:1", undefined, "www-data", "noteshub-staging-net"]);
        assert.equal(byName(resources, "green-container").inputs.network, "container:cid-noteshub-staging-green-addr");
        const lb = byName(resources, "lb-container").inputs;
        assert.deepEqual([lb.name, lb.image, lb.ports, lb.sysctls], ["noteshub-staging-lb", "noteshub-staging/holder:1", [{ container: 8080, host: 8080, hostIp: "127.0.0.1" }], { "net.ipv4.tcp_migrate_req": "1" }]);
        assert.deepEqual(lb.mounts, [{ volume: "noteshub-staging-lbstate", target: "/var/lib/noteshub/state" }]);
    });

    it("runs nginx as an instance in the holder's network namespace, with its own routes and a handover", async () => {
        const { resources } = await runProgram();
        const nginx = byName(resources, "lb-nginx").inputs;
        assert.match(nginx.name, /^noteshub-staging-lb-[0-9a-f]{10}$/);
        assert.match(nginx.image, /^noteshub-staging\/lb:[0-9a-f]{12}$/, "named by its context's content");
        assert.equal(nginx.network, "container:cid-noteshub-staging-lb");
        assert.deepEqual(nginx.ports, [], "the holder publishes the port");
        assert.deepEqual(nginx.mounts, [{ volume: "noteshub-staging-lbstate", target: "/var/lib/noteshub/state", readOnly: true }]);
        assert.deepEqual(nginx.files.map((f: { path: string; uid: number }) => [f.path, f.uid]), [["/etc/nginx/noteshub/routes.conf", 33]]);
        assert.match(nginx.files[0].content, /# green: the address of holder cid-noteshub\n.*\n    server noteshub-staging-green-addr:8000 max_fails=0;/);
        assert.deepEqual(nginx.handover, { group: "noteshub-staging-lb", drain: ["noteshub-drain"], connections: ["noteshub-connections"], drainSec: 10, trialNetwork: "noteshub-staging-net" });
        assert.deepEqual([nginx.guard.color, nginx.guard.what], ["*", "the only nginx instance"], "replaced new-first; only the last one running is guarded");
        assert.match(byName(resources, "lb-routes").inputs.backends.green.addressId, /^cid-noteshub-staging-green-addr$/, "the routes, not the instance, follow the holders");
    });

    it("a colour made with the root login keeps it while its container stays (upgrading replaces nothing); a new container gets the app's", async () => {
        const root = "mongodb://noteshub:a-long-staging-password@noteshub-staging-db:27017/noteshub?authSource=admin";
        const made = (imageId: string) => ({ "env.MONGODB_URI": hashOf(root), imageId: hashOf(imageId) });
        const { resources } = await runProgram({}, "staging", { weights: { blue: 100, green: 0 }, specs: {
            "noteshub-staging-blue": made("sha256:noteshub-staging/noteshub-api:v1.0.0"),
            "noteshub-staging-green": made("sha256:an-image-green-no-longer-runs"),
        } });
        assert.equal(byName(resources, "blue-container").inputs.env.MONGODB_URI, root, "same image: kept as it runs");
        assert.match(byName(resources, "green-container").inputs.env.MONGODB_URI, /^mongodb:\/\/noteshub-app:/, "a new version: a new container, the app's login");
    });

    it("guards every container that serves with what the engine says runs (the program's one read)", async () => {
        const running = { "noteshub-staging-blue": { imageId: "abc" } };
        const { resources } = await runProgram({}, "staging", { weights: { blue: 100, green: 0 }, specs: running });
        const guard = (n: string) => byName(resources, n).inputs.guard;
        assert.deepEqual(guard("blue-container"), { color: "blue", what: "colour blue", balancer: "noteshub-staging-lb", share: 100, running: { imageId: "abc" }, allowOutage: false });
        assert.deepEqual([guard("green-container").share, guard("green-container").running], [0, null]);
        assert.deepEqual([guard("blue-address").color, guard("blue-address").share], ["blue", 100]);
        assert.deepEqual([guard("lb-container").color, guard("lb-container").what, guard("lb-container").share], ["*", "the balancer's port holder", 100]);
        assert.deepEqual([guard("database-container").color, guard("database-container").what], ["*", "the database"]);
        // What can serve is listed for the destroy guard (the pack checks each with a share is still declared); a
        // balancer instance (handed over new-first) is not. No shares in it: it changes only when containers do.
        const labels = (role: string, color?: string) => ({ "io.noteshub.role": role, ...(color ? { "io.noteshub.color": color } : {}), "io.noteshub.urn": `urn:${role}`, "io.noteshub.resource": `${role}-r` });
        const listed = await runProgram({}, "staging", { weights: { blue: 100, green: 0 }, running: [
            { name: "noteshub-staging-green", labels: labels("app", "green") }, { name: "noteshub-staging-blue-addr", labels: labels("address", "blue") },
            { name: "noteshub-staging-db", labels: labels("database") }, { name: "noteshub-staging-lb-0123456789", labels: labels("balancer") },
        ] });
        assert.deepEqual(byName(listed.resources, "destroy-guard").inputs.serving, [
            { container: "noteshub-staging-blue-addr", color: "blue", what: "colour blue (its address holder)", urn: "urn:address", resource: "address-r" },
            { container: "noteshub-staging-db", color: "*", what: "the database", urn: "urn:database", resource: "database-r" },
            { container: "noteshub-staging-green", color: "green", what: "colour green", urn: "urn:app", resource: "app-r" },
        ]);
        assert.equal(byName(resources, "blue-container").inputs.resourceUrn, "urn:pulumi:staging::noteshub::noteshub:app:Color$pulumi-nodejs:dynamic/docker:Container::blue-container");
        const unread = await runProgram({}, "staging", { weights: null });
        assert.equal(byName(unread.resources, "blue-container").inputs.guard.share, null, "a state that can't be read may mean traffic");
    });

    it("during a gradual shift both colours get a share, and the traffic state waits for both gates", async () => {
        const { resources, outputs } = await runProgram({ activeColor: "green", traffic: 25 });
        const traffic = byName(resources, "lb-traffic").inputs;
        assert.deepEqual(traffic.weights, { blue: 75, green: 25 });
        assert.deepEqual(traffic.gates, { blue: "passed-blue", green: "passed-green" });
        assert.equal(byName(resources, "lb-gate-blue").inputs.live, true);
        assert.equal(byName(resources, "lb-gate-green").inputs.live, true);
        assert.deepEqual(outputs.traffic, { blue: 75, green: 25 });
        assert.equal(byName(resources, "release").inputs.traffic, 25);
    });

    it("a version change touches only that colour; a shifted retained list leaves the live colour alone", async () => {
        const before = await runProgram();
        const changed = (after: Awaited<ReturnType<typeof runProgram>>) => before.resources
            .filter((r) => after.resources.some((a) => a.name === r.name) && JSON.stringify(r.inputs) !== JSON.stringify(byName(after.resources, r.name).inputs))
            .map((r) => r.name).sort();
        // v0.9.0 needs no migration, blue's v1.0.0 needs 001: the target drops from 2 to 1.
        const older = await runProgram({ greenVersion: "v0.9.0" });
        assert.deepEqual(changed(older), ["green-container", "lb-gate-green", "lb-traffic", "migrations", "release"]);
        assert.equal(byName(older.resources, "migrations").inputs.target, 1);
        // noteshub deploy's first step: a new version on the idle colour pushes the live v1.0.0 to "archived".
        const released = await runProgram({
            greenVersion: "v1.1.0", retainedVersions: { current: "v1.1.0", previous: "v1.0.1", archived: "v1.0.0" },
            schema: { "v1.1.0": 2, "v1.0.1": 2, "v1.0.0": 1 },
        });
        assert.deepEqual(changed(released), ["blue-container", "green-container", "lb-gate-green", "lb-traffic", "release"]);
        const blue = (r: typeof before) => byName(r.resources, "blue-container").inputs;
        assert.deepEqual({ ...blue(released), startEnv: undefined }, { ...blue(before), startEnv: undefined }, "only PREVIOUS_VERSION, which is fixed at start");
    });
});
