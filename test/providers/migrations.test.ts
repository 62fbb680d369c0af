// The migration runner against a real MongoDB-wire server (FerretDB on PostgreSQL in its container): round trips of
// every migration in migrations/, the lock, tamper detection, a failure midway, downs from the changelog.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { hostname, tmpdir } from "node:os";
import { after, before, describe, it } from "node:test";
import { MongoClient, type Db } from "mongodb";
import { buildFrom } from "../../infra/docker/context";
import { listBackups, restoreBackup } from "../../infra/migrations/backup";
import { loadMigrations, type Migration } from "../../infra/migrations/load";
import { acquireLock, LOCK_COLLECTION, LockHeldError } from "../../infra/migrations/lock";
import { migrate, readChangelog } from "../../infra/migrations/runner";
import { fromRoot } from "../../infra/paths";
import * as container from "../../infra/providers/dockerContainer";
import * as image from "../../infra/providers/dockerImage";
import { docker, freePort, purgeDockerLeftovers } from "../helpers/stack";

const STACK = "migtest";
const local = { host: "unix:///var/run/docker.sock" };
const PROGRAM = loadMigrations(fromRoot("migrations"));

const tempDirs: string[] = [];
function dirWithFiles(files: Record<string, string>): string {
    const d = mkdtempSync(join(tmpdir(), "noteshub-code-mig-"));
    tempDirs.push(d);
    for (const [f, c] of Object.entries(files)) writeFileSync(join(d, f), c);
    return d;
}

async function snapshot(db: Db) {
    const out: Record<string, unknown> = {};
    for (const c of (await db.listCollections().toArray()).map((x) => x.name).filter((n) => !n.startsWith("_")).sort()) {
        const indexes = (await db.collection(c).indexes()).map((i) => `${i.name}:${JSON.stringify(i.key)}`).sort();
        const docs = await db.collection(c).find({}).sort({ _id: 1 }).limit(50).toArray();
        out[c] = { count: await db.collection(c).countDocuments(), indexes, docs };
    }
    return out;
}

async function seed(db: Db) {
    await db.collection("users").insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: `u${String(i).padStart(3, "0")}` as never, name: `user ${i}` })));
    await db.collection("notes").insertMany(Array.from({ length: 60 }, (_, i) => ({
        _id: `n${String(i).padStart(3, "0")}` as never, title: `note ${i}`, department: ["cs", "physics", "math"][i % 3], year: 2020 + (i % 5), uploaded_at: new Date(Date.UTC(2024, 0, 1 + i)),
    })));
}

describe("migration runner against real FerretDB", { timeout: 10 * 60_000 }, () => {
    let client: MongoClient;
    let uri = "";
    let n = 0;
    const freshDb = () => client.db(`migtest_${process.pid}_${n++}`);

    before(async () => {
        purgeDockerLeftovers(STACK);
        const img = await image.provider.create({ docker: local, name: "noteshub-ferretdb:v1.24.2", build: buildFrom(fromRoot("images/ferretdb")) });
        const port = await freePort();
        await container.provider.create({
            docker: local, owner: `noteshub-${STACK}`, name: `noteshub-${STACK}-db`, image: "noteshub-ferretdb:v1.24.2", imageId: img.outs.imageId,
            env: { MONGO_INITDB_ROOT_USERNAME: "noteshub", MONGO_INITDB_ROOT_PASSWORD: "migtest-password" }, network: "bridge", aliases: [],
            ports: [{ container: 27017, host: port, hostIp: "127.0.0.1" }], mounts: [], labels: { "io.noteshub.stack": STACK },
            securityOpt: [], capDrop: [], capAdd: [], stopTimeoutSec: 5, readyTimeoutSec: 120,
            healthcheck: { test: ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/27017"], intervalMs: 500, timeoutMs: 2000, retries: 100, startPeriodMs: 0 },
        });
        uri = `mongodb://noteshub:migtest-password@127.0.0.1:${port}/?authSource=admin`;
        client = await new MongoClient(uri).connect();
    });
    after(async () => {
        await client?.close();
        purgeDockerLeftovers(STACK);
        for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });

    it("every migration round-trips up -> down -> up: collections, indexes and documents compared", async () => {
        const db = freshDb();
        await seed(db);
        for (const m of PROGRAM) {
            const before = await snapshot(db);
            const up1 = await migrate(db, { migrations: PROGRAM, target: m.seq, runBy: "test" });
            assert.deepEqual(up1.steps, [{ direction: "up", id: m.id }]);
            const afterUp = await snapshot(db);
            assert.notDeepEqual(afterUp, before, `${m.id} up changed something`);
            const down = await migrate(db, { migrations: PROGRAM, target: m.seq - 1, runBy: "test" });
            assert.deepEqual(down.steps, [{ direction: "down", id: m.id }]);
            assert.deepEqual(await snapshot(db), before, `${m.id} down restored the data`);
            await migrate(db, { migrations: PROGRAM, target: m.seq, runBy: "test" });
            assert.deepEqual(await snapshot(db), afterUp, `${m.id} up again gives the same result`);
        }
        const log = await readChangelog(db);
        assert.deepEqual(log.map((e) => e._id), PROGRAM.map((m) => m.id));
        assert.equal(log[1].checksumUp, PROGRAM[1].up.checksum);
        assert.equal(log[1].appliedBy, "test");
        assert.ok(log[1].durationMs >= 0 && log[1].appliedAt instanceof Date);
        assert.deepEqual(JSON.parse(log[1].downScript!), PROGRAM[1].down);
    });

    it("runs downs from the changelog when the program no longer has the migration", async () => {
        const db = freshDb();
        await seed(db);
        await migrate(db, { migrations: PROGRAM, target: 2, runBy: "newer program" });
        assert.ok((await db.collection("notes").indexes()).some((i) => i.name === "idx_notes_year"));
        const olderProgram = PROGRAM.filter((m) => m.seq === 1);
        const r = await migrate(db, { migrations: olderProgram, target: 1, runBy: "older program" });
        assert.deepEqual(r.steps, [{ direction: "down", id: "002_add_indexes" }]);
        assert.ok(!(await db.collection("notes").indexes()).some((i) => i.name === "idx_notes_year"));
        assert.equal(await db.collection("notes").countDocuments(), 60, "documents intact");
    });

    it("falls back to the down kept in state when the changelog has none; without any, says so and runs nothing", async () => {
        const db = freshDb();
        await migrate(db, { migrations: PROGRAM, target: 2, runBy: "test" });
        await db.collection("_migrations").updateOne({ _id: "002_add_indexes" as never }, { $set: { downScript: null } });
        const older = PROGRAM.filter((m) => m.seq === 1);
        await assert.rejects(migrate(db, { migrations: older, target: 1, runBy: "test" }),
            /^MigrationError: migration 002_add_indexes has no down-migration, in the changelog or in migrations\/: it cannot be rolled back automatically\.$/);
        assert.deepEqual((await readChangelog(db)).map((e) => e._id), ["001_add_email_verification", "002_add_indexes"]);
        const r = await migrate(db, { migrations: older, target: 1, runBy: "test", downs: { "002_add_indexes": PROGRAM[1].down! } });
        assert.deepEqual(r.steps, [{ direction: "down", id: "002_add_indexes" }]);
        assert.ok(!(await db.collection("notes").indexes()).some((i) => i.name === "idx_notes_year"));
    });

    it("saves what a destructive step removes, lists the backup, and restores it", async () => {
        const db = freshDb();
        await db.collection("users").insertMany([{ _id: "ada" as never, name: "Ada" }, { _id: "bob" as never, name: "Bob" }, { _id: "cy" as never, name: "Cy" }]);
        await migrate(db, { migrations: PROGRAM, target: 1, runBy: "test" });
        await db.collection("users").updateOne({ _id: "ada" as never }, { $set: { email_verified: true } });
        assert.deepEqual(await listBackups(db), [], "additive steps make no backup");
        await migrate(db, { migrations: PROGRAM, target: 0, runBy: "rollback" }); // 001's down removes email_verified
        const [b] = await listBackups(db);
        assert.equal(b.migration, "001_add_email_verification");
        assert.equal(b.direction, "down");
        assert.equal(b.runBy, "rollback");
        assert.deepEqual(b.parts, [{ collection: "users", kind: "fields", fields: ["email_verified"], count: 3 }]);
        assert.equal(await db.collection("users").countDocuments({ email_verified: { $exists: true } }), 0);
        assert.deepEqual(await restoreBackup(db, b._id), { documents: 3 });
        const verified = Object.fromEntries((await db.collection("users").find({}).toArray()).map((u) => [u._id, u.email_verified]));
        assert.deepEqual(verified, { ada: true, bob: false, cy: false }, "Ada's true came back, not a default");

        // A dropped collection is saved whole.
        await db.collection("scratch").insertMany([{ _id: 1 as never, a: { b: [1, 2] } }, { _id: 2 as never, a: "x" }]);
        const drop: Migration = {
            id: "003_drop_scratch", seq: 3,
            up: { file: "003_drop_scratch.up.json", description: "", checksum: "e".repeat(64), commands: [{ drop: "scratch" }] },
            down: { file: "003_drop_scratch.down.json", description: "", checksum: "f".repeat(64), commands: [{ create: "scratch" }] },
        };
        await migrate(db, { migrations: [...PROGRAM, drop], target: 3, runBy: "test" });
        const [dropBackup] = await listBackups(db);
        assert.deepEqual(dropBackup.parts, [{ collection: "scratch", kind: "collection", fields: [], count: 2 }]);
        assert.equal(await db.collection("scratch").countDocuments(), 0);
        await restoreBackup(db, dropBackup._id);
        assert.deepEqual(await db.collection("scratch").find({}).sort({ _id: 1 }).toArray(), [{ _id: 1, a: { b: [1, 2] } }, { _id: 2, a: "x" }]);
        await assert.rejects(restoreBackup(db, "nope"), /^Error: no backup nope; list them with listBackups \(collection _backups\)$/);
    });

    it("a contracting migration's down puts back what its up removed, from the backup", async () => {
        const db = freshDb();
        await db.collection("notes").insertMany([{ _id: "a" as never, title: "A", legacy_tag: "old-1" }, { _id: "b" as never, title: "B", legacy_tag: "old-2" }, { _id: "c" as never, title: "C" }]);
        const contract: Migration = {
            id: "003_drop_legacy_tag", seq: 3,
            up: { file: "003_drop_legacy_tag.up.json", description: "", checksum: "1".repeat(64), commands: [{ update: "notes", updates: [{ q: {}, u: { $unset: { legacy_tag: "" } }, multi: true }] }] },
            down: { file: "003_drop_legacy_tag.down.json", description: "", checksum: "2".repeat(64), commands: [{ noteshubRestoreBackup: "up" }] },
        };
        const all = [...PROGRAM, contract];
        await migrate(db, { migrations: all, target: 3, runBy: "test" });
        assert.equal(await db.collection("notes").countDocuments({ legacy_tag: { $exists: true } }), 0);
        await migrate(db, { migrations: all, target: 2, runBy: "test" });
        const tags = Object.fromEntries((await db.collection("notes").find({}).toArray()).map((n) => [n._id, n.legacy_tag]));
        assert.deepEqual(tags, { a: "old-1", b: "old-2", c: undefined });
    });

    it("runs code migrations (a data transform) up and down, and reports a throwing one", async () => {
        const db = freshDb();
        await db.collection("users").insertMany([{ _id: "u1" as never, name: "Ada Lovelace" }, { _id: "u2" as never, name: "Grace Hopper" }]);
        const [code] = loadMigrations(dirWithFiles({
            "003_split_names.up.ts": "import type { Db } from 'mongodb';\nexport async function up(db: Db) {\n  for (const u of await db.collection('users').find({ first: { $exists: false } }).toArray()) {\n    const [first, last] = String(u.name).split(' ');\n    await db.collection('users').updateOne({ _id: u._id }, { $set: { first, last } });\n  }\n}\n",
            "003_split_names.down.js": "exports.down = async (db) => { await db.collection('users').updateMany({}, { $unset: { first: '', last: '' } }); };\n",
        }));
        const all = [...PROGRAM, { ...code, seq: 3 }];
        await migrate(db, { migrations: all, target: 3, runBy: "test" });
        assert.deepEqual(await db.collection("users").findOne({ _id: "u2" as never }, { projection: { first: 1, last: 1, _id: 0 } }), { first: "Grace", last: "Hopper" });
        await migrate(db, { migrations: all, target: 2, runBy: "test" });
        assert.equal(await db.collection("users").countDocuments({ first: { $exists: true } }), 0);
        const [broken] = loadMigrations(dirWithFiles({ "003_broken.up.js": "exports.up = async () => { throw new Error('no such field: surname'); };" }));
        await assert.rejects(migrate(db, { migrations: [...PROGRAM, broken], target: 3, runBy: "test" }),
            /^MigrationError: migration 003_broken \(up\) failed in migrations\/003_broken\.up\.js: no such field: surname\n {2}-> it was not recorded as applied/);
    });

    it("refuses a migration changed after it was applied, and runs nothing", async () => {
        const db = freshDb();
        await migrate(db, { migrations: PROGRAM, target: 1, runBy: "test" });
        const tampered: Migration[] = PROGRAM.map((m) => (m.seq === 1 ? { ...m, up: { ...m.up, checksum: "f".repeat(64) } } : m));
        await assert.rejects(migrate(db, { migrations: tampered, target: 2, runBy: "test" }),
            /^MigrationError: migration 001_add_email_verification: migrations\/001_add_email_verification\.up\.json changed after it was applied on .* by test \(checksum [0-9a-f]{12} then, ffffffffffff now\)\. An applied migration is never rerun/);
        assert.deepEqual((await readChangelog(db)).map((e) => e._id), ["001_add_email_verification"]);
    });

    it("a failing command: names migration, command and server's words; not recorded; lock released; rerun continues", async () => {
        const db = freshDb();
        await seed(db);
        const bad: Migration = {
            id: "003_bad", seq: 3,
            up: { file: "003_bad.up.json", description: "", checksum: "c".repeat(64), commands: [{ createIndexes: "notes", indexes: [{ key: { title: 1 }, name: "idx_title" }] }, { noSuchCommand: 1 }] },
            down: { file: "003_bad.down.json", description: "", checksum: "d".repeat(64), commands: [{ dropIndexes: "notes", index: "idx_title" }] },
        };
        await assert.rejects(migrate(db, { migrations: [...PROGRAM, bad], target: 3, runBy: "test" }), (err: Error) => {
            assert.match(err.message, /^migration 003_bad \(up\) failed at command 2 of 2: \{"noSuchCommand":1\}\n {2}server said: .*no such command.*\n {2}-> it was not recorded as applied and the lock was released; fix migrations\/003_bad\.up\.json and run again/is);
            return true;
        });
        assert.deepEqual((await readChangelog(db)).map((e) => e._id), ["001_add_email_verification", "002_add_indexes"], "001 and 002 stay applied, 003 is not");
        assert.equal(await db.collection(LOCK_COLLECTION).countDocuments(), 0, "lock released");
        const fixed: Migration = { ...bad, up: { ...bad.up, commands: [bad.up.commands[0]] } };
        const r = await migrate(db, { migrations: [...PROGRAM, fixed], target: 3, runBy: "test" });
        assert.deepEqual(r.steps, [{ direction: "up", id: "003_bad" }], "continues from the failed one; nothing applied twice");
    });

    it("the database stopped mid-run: a clear error naming the migration; after a restart the rerun completes once", async () => {
        const db = freshDb();
        await db.collection("notes").insertMany(Array.from({ length: 6000 }, (_, i) => ({ title: `n${i}`, year: 2020 })));
        const slow: Migration = {
            id: "003_flag_notes", seq: 3,
            up: { file: "003_flag_notes.up.json", description: "", checksum: "a".repeat(64), commands: [{ update: "notes", updates: [{ q: { migrated: { $exists: false } }, u: { $set: { migrated: true } }, multi: true }] }] },
            down: { file: "003_flag_notes.down.json", description: "", checksum: "b".repeat(64), commands: [{ update: "notes", updates: [{ q: {}, u: { $unset: { migrated: "" } }, multi: true }] }] },
        };
        const all = [...PROGRAM, slow];
        await migrate(db, { migrations: all, target: 2, runBy: "test" });
        const running = migrate(db, { migrations: all, target: 3, runBy: "test", lockTtlMs: 2000 });
        const watcher = await new MongoClient(uri).connect();
        try {
            const notes = watcher.db(db.databaseName).collection("notes");
            for (let i = 0; i < 200 && (await notes.countDocuments({ migrated: true })) === 0; i++) await new Promise((r) => setTimeout(r, 25));
        } finally {
            await watcher.close();
        }
        docker("stop", "-t", "5", `noteshub-${STACK}-db`);
        await assert.rejects(running, (err: Error) => {
            assert.match(err.message, /^migration 003_flag_notes \(up\) failed at command 1 of 1: .*\n {2}server said: /s);
            return true;
        });
        docker("start", `noteshub-${STACK}-db`);
        await client.close();
        for (let i = 0; ; i++) {
            try {
                client = await new MongoClient(uri, { serverSelectionTimeoutMS: 2000 }).connect();
                await client.db("admin").command({ ping: 1 });
                break;
            } catch (err) {
                if (i > 60) throw err;
                await new Promise((r) => setTimeout(r, 500));
            }
        }
        await new Promise((r) => setTimeout(r, 2100)); // the interrupted run's lock (same process, 2 s) expires
        const again = client.db(db.databaseName);
        assert.deepEqual((await readChangelog(again)).map((e) => e._id), ["001_add_email_verification", "002_add_indexes"], "003 was not recorded");
        const r = await migrate(again, { migrations: all, target: 3, runBy: "test" });
        assert.deepEqual(r.steps, [{ direction: "up", id: "003_flag_notes" }]);
        assert.equal(await again.collection("notes").countDocuments({ migrated: true }), 6000);
        assert.deepEqual((await readChangelog(again)).map((e) => e._id), ["001_add_email_verification", "002_add_indexes", "003_flag_notes"]);
    });

    it("the lock: a second runner is refused naming the holder; an expired lock is taken over", async () => {
        const db = freshDb();
        const a = await acquireLock(db, "runner A", 30_000);
        await assert.rejects(acquireLock(db, "runner B"), (err: Error) => {
            assert.ok(err instanceof LockHeldError);
            assert.match(err.message, /^migrations are locked by runner A \(host .+, pid \d+\) since .+; the lock expires at .+\. Wait for that run to finish; if it crashed, rerun after the expiry\.$/);
            return true;
        });
        await assert.rejects(migrate(db, { migrations: PROGRAM, target: 1, runBy: "runner B" }), LockHeldError);
        assert.deepEqual(await readChangelog(db), [], "the refused runner changed nothing");
        await a.release();
        // A crashed run: its lock document stays, expired.
        await db.collection(LOCK_COLLECTION).insertOne({ _id: "migrations" as never, owner: "crashed run", host: "h", pid: 1, acquiredAt: new Date(Date.now() - 120_000), expiresAt: new Date(Date.now() - 60_000) });
        const r = await migrate(db, { migrations: PROGRAM, target: 1, runBy: "runner C" });
        assert.deepEqual(r.steps, [{ direction: "up", id: "001_add_email_verification" }]);
        assert.equal(await db.collection(LOCK_COLLECTION).countDocuments(), 0);
        // A killed run on this host (its pid is gone): taken over at once, though not yet expired.
        const dead = spawnSync("true").pid!;
        await db.collection(LOCK_COLLECTION).insertOne({ _id: "migrations" as never, owner: "killed run", host: hostname(), pid: dead, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 600_000) });
        const r2 = await migrate(db, { migrations: PROGRAM, target: 2, runBy: "runner D" });
        assert.deepEqual(r2.steps, [{ direction: "up", id: "002_add_indexes" }]);
        // A live holder elsewhere is still respected.
        await db.collection(LOCK_COLLECTION).insertOne({ _id: "migrations" as never, owner: "other host", host: "elsewhere", pid: dead, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 600_000) });
        await assert.rejects(migrate(db, { migrations: PROGRAM, target: 0, runBy: "runner E" }), /migrations are locked by other host \(host elsewhere/);
    });
});
