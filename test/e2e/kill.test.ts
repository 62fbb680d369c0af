// A `pulumi up` killed with -9 in the middle of a migration (the CLI and every plugin process, as a crash would)
// loses nothing: after `pulumi cancel` (Pulumi's own stack lock), the rerun takes over the dead run's migration lock
// at once, completes the migration, and applies nothing twice.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MongoClient, type Db } from "mongodb";
import { stagingValues } from "../helpers/config";
import { freePort, programCopy, purgeDockerLeftovers, TestStack } from "../helpers/stack";

const STACK = "e2e-kill";
const NOTES = 8000;
const slowUp = { description: "flag every note (slow on purpose: one update per document)", commands: [{ update: "notes", updates: [{ q: { flagged: { $exists: false } }, u: { $set: { flagged: true } }, multi: true }] }] };
const slowDown = { description: "unflag", commands: [{ update: "notes", updates: [{ q: { flagged: { $exists: true } }, u: { $unset: { flagged: "" } }, multi: true }] }] };

describe("kill -9 in the middle of a migration (real pulumi, FerretDB)", { timeout: 15 * 60_000 }, () => {
    let stack: TestStack;
    let program = "";
    let client: MongoClient;
    let db: Db;

    before(async () => {
        purgeDockerLeftovers(STACK);
        const dbPort = await freePort();
        stack = new TestStack(STACK, stagingValues({ loadBalancer: { port: await freePort() }, database: { image: "noteshub-ferretdb:v1.24.2", build: "images/ferretdb", hostPort: dbPort } }));
        stack.init({ "database.password": "e2e-password-0123" });
        // A program with a third, slow migration that v1.0.1 will need.
        program = programCopy(STACK, (dir) => {
            writeFileSync(join(dir, "migrations", "003_flag_notes.up.json"), JSON.stringify(slowUp));
            writeFileSync(join(dir, "migrations", "003_flag_notes.down.json"), JSON.stringify(slowDown));
        });
        const r = stack.pulumiIn(program, "up", "--yes", "--skip-preview");
        assert.equal(r.code, 0, r.stdout + r.stderr);
        client = await new MongoClient(`mongodb://noteshub:e2e-password-0123@127.0.0.1:${dbPort}/noteshub?authSource=admin`).connect();
        db = client.db("noteshub");
        for (let i = 0; i < NOTES; i += 2000) {
            await db.collection("notes").insertMany(Array.from({ length: 2000 }, (_, j) => ({ title: `n${i + j}`, department: "cs", year: 2024 })));
        }
    });
    after(async () => {
        await client?.close();
        stack?.dispose();
        if (program) rmSync(program, { recursive: true, force: true });
    });

    it("the rerun completes the migration once, taking over the dead run's lock", async () => {
        assert.equal(stack.pulumiIn(program, "config", "set", "--path", 'schema["v1.0.1"]', "3").code, 0);
        // setsid: the CLI and the plugins it starts (each in its own process group) share one session to kill.
        const up = spawn("setsid", ["pulumi", "up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"], { cwd: program, env: stack.env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        up.stdout.on("data", (d) => (output += d));
        up.stderr.on("data", (d) => (output += d));
        const flagged = () => db.collection("notes").countDocuments({ flagged: true });
        for (let i = 0; i < 1200 && (await flagged()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
        const midway = await flagged();
        assert.ok(midway > 0 && midway < NOTES, `killed mid-migration (${midway} of ${NOTES} flagged)\n${output}`);
        spawnSync("pkill", ["-9", "-s", String(up.pid)]);
        await new Promise((r) => up.once("exit", r));
        await new Promise((r) => setTimeout(r, 1000));
        const left = spawnSync("ps", ["-o", "pid=,stat=,args=", "-s", String(up.pid)], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.trim() && !/ Z/.test(l));
        assert.deepEqual(left, [], "nothing of the killed run is left running");
        assert.ok(!(await db.collection("_migrations").findOne({ _id: "003_flag_notes" as never })), "003 not recorded");
        const lock = await db.collection("_migrations_lock").findOne({});
        assert.ok(lock && lock.expiresAt > new Date(), "the dead run's lock is still there, not expired");

        const cancel = stack.pulumiIn(program, "cancel", "--yes"); // Pulumi's own stack lock, as its error message says
        assert.equal(cancel.code, 0, cancel.stderr);
        const r = stack.pulumiIn(program, "up", "--yes", "--skip-preview");
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(await flagged(), NOTES);
        const log = await db.collection("_migrations").find({}).sort({ seq: 1 }).toArray();
        assert.deepEqual(log.map((e) => e._id), ["001_add_email_verification", "002_add_indexes", "003_flag_notes"], "each applied exactly once");
        assert.equal(await db.collection("_migrations_lock").countDocuments(), 0);
    });
});
