// End to end with the real engine: pulumi up a staging-shaped stack on the local Docker engine, write a note and
// an upload through the balancer, flip colours (no container recreated, data kept), destroy (data volumes kept)
// and bring it back (the note and the file are still there).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { stagingValues } from "../helpers/config";
import { docker, dockerOk, freePort, http, purgeDockerLeftovers, TestStack } from "../helpers/stack";

const STACK = "e2e";

describe("staging end to end (real pulumi, Docker, nginx, FerretDB)", { timeout: 15 * 60_000 }, () => {
    let stack: TestStack;
    let url: string;
    let lbPort: number;
    const ids = () => Object.fromEntries(["blue", "green", "db", "lb"].map((p) => [p, docker("inspect", "-f", "{{.Id}}", `noteshub-${STACK}-${p}`)]));

    before(async () => {
        purgeDockerLeftovers(STACK);
        lbPort = await freePort();
        stack = new TestStack(STACK, stagingValues({
            loadBalancer: { port: lbPort },
            database: { image: "noteshub-ferretdb:v1.24.2", build: "images/ferretdb", hostPort: await freePort() },
        }));
        stack.init({ "database.password": "e2e-password-0123" });
        url = `http://127.0.0.1:${lbPort}`;
    });

    after(() => stack?.dispose());

    let noteId = "";
    let firstIds: Record<string, string> = {};

    it("pulumi up brings the stack up; the active colour answers at its version", async () => {
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        console.log(`# first up: ${r.ms} ms`);
        const out = stack.outputs();
        assert.equal(out.url, url);
        assert.equal(out.liveColor, "blue");
        const health = await http(`${url}/health`);
        assert.equal(health.status, 200);
        assert.equal(health.body.status, "healthy");
        assert.equal(health.body.version, "v1.0.0");
        assert.equal(health.body.checks.database, "ok");
        assert.equal(health.headers.get("x-notesHub-color"), "blue");
        firstIds = ids();
    });

    it("a note and an upload go through the balancer into MongoDB and the uploads volume", async () => {
        const created = await http(`${url}/api/notes`, { method: "POST", body: JSON.stringify({ title: "kept across flips", department: "physics", year: 2024 }) });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        noteId = created.body._id;
        const up = await http(`${url}/api/notes/${noteId}/file?name=lecture.txt`, { method: "PUT", body: "lecture notes, page 1" });
        assert.equal(up.status, 201, JSON.stringify(up.body));
    });

    it("preview of a colour flip shows only routing changing: the gates and the routes, no container", () => {
        stack.must("config", "set", "activeColor", "green");
        const preview = JSON.parse(stack.must("preview", "--json").stdout) as { steps: { op: string; urn: string }[] };
        const changed = preview.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);
        assert.deepEqual(changed.sort(), ["update lb-gate-blue", "update lb-gate-green", "update lb-routes", "update release"]);
    });

    it("pulumi up flips traffic to green without recreating a container; the note and file are there", async () => {
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        console.log(`# flip up: ${r.ms} ms`);
        const health = await http(`${url}/health`);
        assert.equal(health.body.version, "v1.0.1");
        assert.equal(health.headers.get("x-noteshub-color"), "green");
        assert.deepEqual(ids(), firstIds, "no container was recreated");
        const note = await http(`${url}/api/notes/${noteId}`);
        assert.equal(note.status, 200);
        assert.equal(note.body.title, "kept across flips");
        assert.equal(note.headers.get("x-app-version"), "v1.0.1");
        const file = await http(`${url}/api/notes/${noteId}/file`);
        assert.equal(file.body, "lecture notes, page 1");
    });

    it("flipping back returns traffic to blue", async () => {
        stack.must("config", "set", "activeColor", "blue");
        const r = stack.up();
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await http(`${url}/health`)).body.version, "v1.0.0");
        assert.deepEqual(ids(), firstIds);
    });

    it("changing one colour's version replaces only that colour's container", async () => {
        stack.must("config", "set", "greenVersion", "v0.9.0");
        const r = stack.up();
        assert.equal(r.code, 0, r.stderr);
        const now = ids();
        assert.notEqual(now.green, firstIds.green);
        assert.deepEqual({ ...now, green: "" }, { ...firstIds, green: "" });
        assert.equal(docker("exec", `noteshub-${STACK}-green`, "printenv", "APP_VERSION"), "0.9.0");
        assert.equal(docker("exec", `noteshub-${STACK}-green`, "printenv", "PREVIOUS_VERSION"), "");
        assert.equal((await http(`${url}/health`)).body.version, "v1.0.0", "traffic stayed on blue");
    });

    it("pulumi destroy keeps the data volumes, and a new up finds the note and the upload", async () => {
        const d = stack.pulumi("destroy", "--yes", "--skip-preview");
        assert.equal(d.code, 0, d.stderr);
        assert.ok(!dockerOk("inspect", `noteshub-${STACK}-db`), "containers are gone");
        assert.ok(dockerOk("volume", "inspect", `noteshub-${STACK}-dbdata`), "database volume kept");
        assert.ok(dockerOk("volume", "inspect", `noteshub-${STACK}-uploads`), "uploads volume kept");
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const note = await http(`${url}/api/notes/${noteId}`);
        assert.equal(note.status, 200, JSON.stringify(note.body));
        assert.equal(note.body.file.name, "lecture.txt");
        assert.equal((await http(`${url}/api/notes/${noteId}/file`)).body, "lecture notes, page 1");
    });
});
