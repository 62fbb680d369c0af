// Migrations through the real pulumi CLI and FerretDB: preview shows the plan, `up` runs it before the colours
// start, and reverting to an earlier update from `pulumi stack history` with the older program (which no longer has
// migration 002) runs 002's down from state, keeps the documents, and leaves the app healthy.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MongoClient, type Db } from "mongodb";
import { stagingValues } from "../helpers/config";
import { freePort, http, programCopy, purgeDockerLeftovers, TestStack } from "../helpers/stack";

const STACK = "e2e-mig";

/** A copy of this program as it was before migration 002 existed. */
const olderProgram = () => programCopy(STACK, (dir) => {
    for (const f of ["002_add_indexes.up.json", "002_add_indexes.down.json"]) rmSync(join(dir, "migrations", f));
});

/** Re-applies an update's config as recorded in `pulumi stack history` (secrets stay as they are). */
function applyHistoricConfig(stack: TestStack, cwd: string, config: Record<string, { value?: string; objectValue?: unknown; secret: boolean }>) {
    const leaves = (prefix: string, v: unknown): [string, string][] =>
        v && typeof v === "object" ? Object.entries(v).flatMap(([k, x]) => leaves(`${prefix}["${k}"]`, x)) : [[prefix, String(v)]];
    for (const [fullKey, entry] of Object.entries(config)) {
        const key = fullKey.replace(/^noteshub:/, "");
        if (entry.secret || fullKey === key) continue;
        stack.pulumiIn(cwd, "config", "rm", key);
        const pairs = entry.objectValue !== undefined ? leaves(key, entry.objectValue) : [[key, entry.value!] as [string, string]];
        for (const [path, value] of pairs) {
            const r = stack.pulumiIn(cwd, "config", "set", "--path", path, value);
            assert.equal(r.code, 0, r.stderr);
        }
    }
}

describe("migrations through pulumi up (real pulumi, Docker, FerretDB)", { timeout: 15 * 60_000 }, () => {
    let stack: TestStack;
    let client: MongoClient;
    let db: Db;
    let url = "";
    let older = "";
    const indexNames = async () => (await db.collection("notes").indexes()).map((i) => i.name).sort();
    const changelog = async () => (await db.collection("_migrations").find({}).sort({ seq: 1 }).toArray()).map((d) => d._id);

    before(async () => {
        purgeDockerLeftovers(STACK);
        const [port, dbPort] = [await freePort(), await freePort()];
        url = `http://127.0.0.1:${port}`;
        stack = new TestStack(STACK, stagingValues({
            greenVersion: "v0.9.0", // blue v1.0.0 needs 001, green v0.9.0 none: target 001
            loadBalancer: { port },
            database: { image: "noteshub-ferretdb:v1.24.2", build: "images/ferretdb", hostPort: dbPort },
        }));
        stack.init({ "database.password": "e2e-password-0123" });
        client = new MongoClient(`mongodb://noteshub:e2e-password-0123@127.0.0.1:${dbPort}/noteshub?authSource=admin`);
        db = client.db("noteshub");
    });
    after(async () => {
        await client?.close();
        stack?.dispose();
        if (older) rmSync(older, { recursive: true, force: true });
    });

    it("the first up runs what the running versions need, before the colours start", async () => {
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(stack.outputs().migrationsRan, ["up 001_add_email_verification"]);
        assert.equal(stack.outputs().schema, 1);
        await client.connect();
        assert.deepEqual(await changelog(), ["001_add_email_verification"]);
        await db.collection("users").insertMany([{ name: "ada" }, { name: "grace", email_verified: true }]);
        for (let i = 0; i < 25; i++) await http(`${url}/api/notes`, { method: "POST", body: JSON.stringify({ title: `n${i}`, department: "cs", year: 2020 + (i % 4) }) });
    });

    it("preview shows the plan without running it; up runs 002 when a colour's version needs it", async () => {
        stack.must("config", "set", "greenVersion", "v1.0.1");
        const preview = JSON.parse(stack.must("preview", "--json").stdout) as { steps: { urn: string; newState?: { inputs?: { plan?: string[] } } }[] };
        const step = preview.steps.find((s) => s.urn.endsWith("::migrations"));
        assert.deepEqual(step?.newState?.inputs?.plan, ["up 002_add_indexes"]);
        const shown = stack.must("preview", "--diff").stdout; // what a user reads
        assert.match(shown, /~ plan\s*: \[\s*~ \[0\]: "up 001_add_email_verification" => "up 002_add_indexes"\s*\]/);
        assert.deepEqual(await changelog(), ["001_add_email_verification"], "preview ran nothing");
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(stack.outputs().migrationsRan, ["up 002_add_indexes"]);
        assert.deepEqual(await indexNames(), ["_id_", "idx_notes_department", "idx_notes_uploaded_at", "idx_notes_year"]);
        assert.equal((await http(`${url}/health`)).body.status, "healthy");
    });

    it("reverting to the previous update with the older program runs 002's down from state; data and app intact", async () => {
        const history = JSON.parse(stack.must("stack", "history", "--json").stdout) as { config: Record<string, never> }[];
        older = olderProgram();
        applyHistoricConfig(stack, older, history[1].config); // newest first: [1] is the update before
        const r = stack.pulumiIn(older, "up", "--yes", "--skip-preview");
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const outs = JSON.parse(stack.pulumiIn(older, "stack", "output", "--json").stdout);
        assert.deepEqual(outs.migrationsRan, ["down 002_add_indexes"]);
        assert.equal(outs.schema, 1);
        assert.deepEqual(await indexNames(), ["_id_"]);
        assert.deepEqual(await changelog(), ["001_add_email_verification"]);
        assert.equal(await db.collection("notes").countDocuments(), 25, "documents intact");
        assert.equal(await db.collection("users").countDocuments(), 2);
        assert.equal((await db.collection("users").findOne({ name: "grace" }))?.email_verified, true, "001's data untouched by 002's down");
        const health = await http(`${url}/health`);
        assert.equal(health.status, 200);
        assert.equal(health.body.version, "v1.0.0");
        assert.equal((await http(`${url}/api/notes?limit=5`)).body.count, 5);
    });

    it("the current program moves forward again: 002 up, nothing applied twice", async () => {
        stack.must("config", "set", "greenVersion", "v1.0.1");
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(stack.outputs().migrationsRan, ["up 002_add_indexes"]);
        assert.deepEqual(await changelog(), ["001_add_email_verification", "002_add_indexes"]);
    });
});
