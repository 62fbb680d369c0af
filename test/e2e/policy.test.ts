// The policy pack through the real pulumi CLI and engine: a migration without a down blocks `preview` and `up`
// (exit non-zero, the mandatory violation naming the file) and the blocked `up` changes nothing; with the down added
// both pass and the migration runs. What the stack runs holds least privilege (the app's own login, limits,
// read-only roots), read from the engine.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stagingValues } from "../helpers/config";
import { docker, freePort, programCopy, purgeDockerLeftovers, ROOT, TestStack } from "../helpers/stack";

const STACK = "e2e-policy";
const PACK = join(ROOT, "policy");
const UP = { description: "Indexes notes on title.", commands: [{ createIndexes: "notes", indexes: [{ key: { title: 1 }, name: "idx_notes_title" }] }] };
const DOWN = { description: "Drops the title index.", commands: [{ dropIndexes: "notes", index: "idx_notes_title" }] };

describe("policy pack with the real engine", { timeout: 10 * 60_000 }, () => {
    let stack: TestStack;
    let program = "";
    const containerIds = () => docker("ps", "-aq", "--no-trunc", "--filter", `label=io.noteshub.stack=${STACK}`).split("\n").sort();
    /** The stack's resources as the state holds them (without the bookkeeping that changes on any run). */
    const resources = () => JSON.stringify((JSON.parse(stack.pulumiIn(program, "stack", "export").stdout).deployment.resources as object[]));

    before(async () => {
        purgeDockerLeftovers(STACK);
        stack = new TestStack(STACK, stagingValues({ loadBalancer: { port: await freePort() } }));
        stack.init({ "database.password": "e2e-password-0123" });
        program = programCopy(STACK, () => undefined);
    });
    after(() => {
        stack?.dispose();
        if (program) rmSync(program, { recursive: true, force: true });
    });

    it("the stack comes up with the pack passing", () => {
        const r = stack.pulumiIn(program, "up", "--yes", "--policy-pack", PACK);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /Policies:\s+✅ noteshub@v0\.1\.0/);
    });

    it("what runs holds least privilege: the app's own login (no root password in any app container), limits, read-only roots", async () => {
        const inspect = (part: string) => JSON.parse(docker("inspect", `noteshub-${STACK}-${part}`))[0];
        for (const color of ["blue", "green"]) {
            const c = inspect(color);
            const env = (c.Config.Env as string[]).join("\n");
            assert.doesNotMatch(env, /e2e-password-0123/, `${color}: docker inspect shows no root password`);
            assert.match(env, new RegExp(`^MONGODB_URI=mongodb://noteshub-app:[A-Za-z0-9_-]{32}@noteshub-${STACK}-db:27017/noteshub\\?authSource=admin$`, "m"));
            assert.deepEqual([c.HostConfig.Memory, c.HostConfig.NanoCpus, c.HostConfig.PidsLimit, c.HostConfig.ReadonlyRootfs], [512 * 1024 * 1024, 1e9, 256, true], color);
        }
        for (const part of ["lb", "blue-addr", "green-addr"]) assert.equal(inspect(part).HostConfig.ReadonlyRootfs, true, part);
        assert.deepEqual([inspect("db").HostConfig.Memory, inspect("db").HostConfig.PidsLimit], [2048 * 1024 * 1024, 512]);
        // FerretDB checks the app's password: the login the app holds works, the same user with another does not.
        const uri = (/^MONGODB_URI=(.*)$/m.exec((inspect("blue").Config.Env as string[]).join("\n")))![1];
        const { MongoClient } = await import("mongodb");
        const ip = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", `noteshub-${STACK}-db`);
        const at = (u: string) => u.replace(`noteshub-${STACK}-db:27017`, `${ip}:27017`) + "&directConnection=true";
        const app = await new MongoClient(at(uri), { serverSelectionTimeoutMS: 5000 }).connect();
        assert.ok((await app.db("noteshub").collection("notes").countDocuments()) >= 0);
        await app.close();
        await assert.rejects(new MongoClient(at(uri.replace(/noteshub-app:[^@]+@/, "noteshub-app:not-the-password@")), { serverSelectionTimeoutMS: 5000 }).connect(), /Authentication failed/);
    });

    it("reads the pack's config: other traffic steps make 100 % an advisory finding, and preview still passes", () => {
        const file = join(program, "policy-config.json");
        writeFileSync(file, JSON.stringify({ "traffic-steps": { steps: [0, 50] } }));
        const r = stack.pulumiIn(program, "preview", "--policy-pack", PACK, "--policy-pack-config", file);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /\[advisory\]\s+traffic-steps/);
        assert.match(r.stdout, /noteshub:traffic is 100 %: the blue colour being promoted should get one of the steps 0\/50 %/);
    });

    it("a migration without its down fails preview with the mandatory violation naming the file", () => {
        writeFileSync(join(program, "migrations", "003_add_title_index.up.json"), JSON.stringify(UP));
        stack.pulumiIn(program, "config", "set", "--path", `schema["v1.0.1"]`, "3");
        const r = stack.pulumiIn(program, "preview", "--policy-pack", PACK);
        assert.notEqual(r.code, 0);
        assert.match(r.stdout, /\[mandatory\]\s+migrations-have-downs/);
        assert.match(r.stdout, /migration 003_add_title_index: migrations\/003_add_title_index\.up\.json has no down-migration/);
    });

    it("up is blocked the same way and changes nothing", () => {
        const [before, ids, outputs] = [resources(), containerIds(), stack.outputs()];
        const r = stack.pulumiIn(program, "up", "--yes", "--policy-pack", PACK);
        assert.notEqual(r.code, 0);
        assert.match(r.stdout, /003_add_title_index\.up\.json has no down-migration/);
        assert.equal(resources(), before, "state unchanged");
        assert.deepEqual(containerIds(), ids, "no container replaced");
        assert.deepEqual(stack.outputs(), outputs);
        assert.equal(outputs.schema, 2);
    });

    it("with the down added, preview and up pass and the migration runs", () => {
        writeFileSync(join(program, "migrations", "003_add_title_index.down.json"), JSON.stringify(DOWN));
        const p = stack.pulumiIn(program, "preview", "--policy-pack", PACK);
        assert.equal(p.code, 0, p.stdout + p.stderr);
        const r = stack.pulumiIn(program, "up", "--yes", "--skip-preview", "--policy-pack", PACK);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(stack.outputs().migrationsRan, ["up 003_add_title_index"]);
    });
});
