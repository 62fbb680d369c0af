// The migration runner against a real MongoDB-wire server (FerretDB on PostgreSQL in its container): round trips of
// every migration in migrations/, the lock, tamper detection, a failure midway, downs from the changelog.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { hostname, tmpdir } from "node:os";
import { after, before, describe, it } from "node:test";
import { MongoClient, type Db } from "mongodb";
import { buildFrom } from "../../infra/docker/context";
import { listBackups, restoreBackup } from "../../infra/migrations/backup";
import { loadMigrations, type Migration } from "../../infra/migrations/load";
import { acquireLock, LOCK_COLLECTION, LockHeldError, LockLostError, processNamespace } from "../../infra/migrations/lock";
import { waitForLogin } from "../../infra/migrations/ready";
import { migrate, PROGRESS, readChangelog } from "../../infra/migrations/runner";
import { restoreIn } from "../../cli/restore";
import { checkIdentity } from "../../infra/migrations/identity";
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
        const img = await image.provider.create({ docker: local, name: `noteshub-${STACK}/ferretdb:v1.24.2`, build: buildFrom(fromRoot("images/ferretdb")) });
        const port = await freePort();
        await container.provider.create({
            docker: local, owner: `noteshub-${STACK}`, name: `noteshub-${STACK}-db`, image: `noteshub-${STACK}/ferretdb:v1.24.2`, imageId: img.outs.imageId,
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
        // The changelog's down runs only when the operator's side knows it: here Pulumi state recorded it (issue #13).
        const r = await migrate(db, { migrations: olderProgram, target: 1, runBy: "older program", downs: { "002_add_indexes": PROGRAM[1].down! } });
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
        assert.deepEqual(await restoreBackup(db, b._id), { documents: 3, kept: 0, keptIds: [] });
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
            assert.match(err.message, /^migration 003_bad \(up\) failed at command 2 of 2: \{"noSuchCommand":1\}\n {2}server said: .*no such command.*\n {2}-> it was not recorded as applied \(commands 1-1 are done and recorded\) and the lock was released; fix migrations\/003_bad\.up\.json and run again: it continues at command 2\.$/is);
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
        try {
            await assert.rejects(running, (err: Error) => {
                // The command fails, or (when it finished as the server went down) the check after it can't read the lock.
                assert.match(err.message, /^migration 003_flag_notes \(up\) (failed at command 1 of 1: .*\n {2}server said: |stopped: the migration lock of test was lost: (reading it back|renewing it) failed: )/s);
                return true;
            });
        } finally {
            docker("start", `noteshub-${STACK}-db`); // the later tests need it, whatever happened here
        }
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

    it("ready means the stack's login works: a wrong password or a server that takes any TCP connection is retried, then refused", async () => {
        const ok = await waitForLogin(() => new MongoClient(uri, { serverSelectionTimeoutMS: 1000 }), 5000, "the test database");
        await ok.close();
        let tries = 0;
        const wrong = uri.replace("migtest-password", "not-the-password");
        await assert.rejects(waitForLogin(() => (tries++, new MongoClient(wrong, { serverSelectionTimeoutMS: 1000 })), 1500, "the test database"), (err: Error) => {
            assert.match(err.message, /^the test database did not accept the stack's credentials within 2 s \(\d+ tries\): .*Authentication failed.*\n {2}-> on a first boot the official mongo image creates its root user first/s);
            return true;
        });
        assert.ok(tries >= 2, `retried (${tries} tries)`);
        // What a TCP health check sees on a first boot: something listening. It is not a database that lets the stack in.
        const { createServer } = await import("node:net");
        const tcp = createServer((sock) => sock.destroy());
        await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
        try {
            const port = (tcp.address() as { port: number }).port;
            await assert.rejects(waitForLogin(() => new MongoClient(`mongodb://noteshub:migtest-password@127.0.0.1:${port}/?authSource=admin&directConnection=true`, { serverSelectionTimeoutMS: 500 }), 1200, "a TCP listener"),
                (err: Error) => /^a TCP listener did not accept the stack's credentials within 1 s \(\d+ tries\)/.test(err.message));
        } finally {
            tcp.close();
        }
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
        await db.collection(LOCK_COLLECTION).insertOne({ _id: "migrations" as never, owner: "killed run", host: hostname(), ns: processNamespace(), pid: dead, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 600_000) });
        const r2 = await migrate(db, { migrations: PROGRAM, target: 2, runBy: "runner D" });
        assert.deepEqual(r2.steps, [{ direction: "up", id: "002_add_indexes" }]);
        // A live holder elsewhere is still respected.
        await db.collection(LOCK_COLLECTION).insertOne({ _id: "migrations" as never, owner: "other host", host: "elsewhere", pid: dead, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 600_000) });
        await assert.rejects(migrate(db, { migrations: PROGRAM, target: 0, runBy: "runner E" }), /migrations are locked by other host \(host elsewhere/);
        // Same host name and a pid that is gone here, but another process namespace (another container or CI runner
        // on a shared name): its pid says nothing, so it is respected until it expires.
        await db.collection(LOCK_COLLECTION).deleteMany({});
        await db.collection(LOCK_COLLECTION).insertOne({ _id: "migrations" as never, owner: "twin container", host: hostname(), ns: "other-boot/pid:[1]", pid: dead, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 600_000) });
        await assert.rejects(migrate(db, { migrations: PROGRAM, target: 0, runBy: "runner F" }), /migrations are locked by twin container/);
    });

    it("fencing: a runner whose lock was taken over stops before its next command and records nothing", async () => {
        const db = freshDb();
        await db.collection("notes").insertMany(Array.from({ length: 8000 }, (_, i) => ({ title: `n${i}` })));
        const two: Migration = {
            id: "003_two_steps", seq: 3,
            up: { file: "003_two_steps.up.json", description: "", checksum: "3".repeat(64), commands: [
                { update: "notes", updates: [{ q: {}, u: { $set: { step1: true } }, multi: true }] },
                { update: "notes", updates: [{ q: {}, u: { $set: { step2: true } }, multi: true }] },
            ] },
            down: { file: "003_two_steps.down.json", description: "", checksum: "4".repeat(64), commands: [{ update: "notes", updates: [{ q: {}, u: { $unset: { step1: "", step2: "" } }, multi: true }] }] },
        };
        await migrate(db, { migrations: PROGRAM, target: 2, runBy: "test" });
        const a = migrate(db, { migrations: [...PROGRAM, two], target: 3, runBy: "runner A", lockTtlMs: 60_000 });
        const other = await new MongoClient(uri).connect();
        try {
            const odb = other.db(db.databaseName);
            // While A's first command runs, B takes the lock over (as after A was paused past its expiry): one write.
            for (let i = 0; i < 400 && (await odb.collection("notes").countDocuments({ step1: true })) === 0; i++) await new Promise((r) => setTimeout(r, 10));
            await odb.collection(LOCK_COLLECTION).updateOne({ _id: "migrations" as never }, { $set: { owner: "runner B", token: "b-token", host: "b-host", pid: 1, acquiredAt: new Date(), expiresAt: new Date(Date.now() + 60_000) } });
            await assert.rejects(a, (err: Error) => {
                assert.ok(err instanceof LockLostError, String(err));
                // Seen by the check after command 1, or by the renewal before it.
                assert.match(err.message, /^migration 003_two_steps \(up\) stopped: the migration lock of runner A was lost: (it is held by runner B \(host b-host, pid 1\) since .*|the lock document no longer carries this run's token \(another runner took it over after it expired\))\. Nothing more was run or recorded by this run; check the changelog \(_migrations\) and rerun/);
                return true;
            });
            assert.equal(await odb.collection("notes").countDocuments({ step2: true }), 0, "A ran nothing after losing the lock");
            assert.deepEqual((await readChangelog(odb)).map((e) => e._id), ["001_add_email_verification", "002_add_indexes"], "A recorded nothing");
            assert.equal((await odb.collection(LOCK_COLLECTION).findOne({}))?.owner, "runner B", "A's release left B's lock alone");
            await odb.collection(LOCK_COLLECTION).deleteMany({}); // B is done
        } finally {
            await other.close();
        }
        // The next run continues from what is recorded: command 1 is not recorded as done (A lost the lock before
        // recording it), so it runs again (it is idempotent here), then command 2.
        const r = await migrate(db, { migrations: [...PROGRAM, two], target: 3, runBy: "runner C" });
        assert.deepEqual(r.steps, [{ direction: "up", id: "003_two_steps" }]);
        assert.equal(await db.collection("notes").countDocuments({ step1: true, step2: true }), 8000);
    });

    it("a failed step resumes after its last command done: a non-idempotent command is not repeated", async () => {
        const db = freshDb();
        const insert = { insert: "events", documents: [{ kind: "migrated" }] };
        const step = (second: Record<string, unknown>): Migration => ({
            id: "003_events", seq: 3,
            up: { file: "003_events.up.json", description: "", checksum: "5".repeat(64), commands: [insert, second] },
            down: { file: "003_events.down.json", description: "", checksum: "6".repeat(64), commands: [{ drop: "events" }] },
        });
        await assert.rejects(migrate(db, { migrations: [...PROGRAM, step({ noSuchCommand: 1 })], target: 3, runBy: "test" }),
            /failed at command 2 of 2: .*\n.*\n {2}-> it was not recorded as applied \(commands 1-1 are done and recorded\) and the lock was released; fix migrations\/003_events\.up\.json and run again: it continues at command 2\.$/);
        assert.equal(await db.collection("events").countDocuments(), 1);
        // The file's first commands changed since: refused, nothing run.
        const changed = { ...step({ ping: 1 }), up: { ...step({ ping: 1 }).up, commands: [{ insert: "events", documents: [{ kind: "other" }] }, { ping: 1 }] } };
        await assert.rejects(migrate(db, { migrations: [...PROGRAM, changed], target: 3, runBy: "test" }),
            /^MigrationError: migration 003_events \(up\): an earlier run did 1 of its commands \(test, .*\), and migrations\/003_events\.up\.json no longer starts with them\. Restore those commands in the file, or undo them by hand and delete \{_id: "003_events:up"\} from _migrations_progress; then run again\.$/);
        assert.equal(await db.collection("events").countDocuments(), 1);
        const r = await migrate(db, { migrations: [...PROGRAM, step({ ping: 1 })], target: 3, runBy: "test" });
        assert.deepEqual(r.steps.at(-1), { direction: "up", id: "003_events" });
        assert.equal(await db.collection("events").countDocuments(), 1, "the insert ran once");
        assert.equal(await db.collection(PROGRESS).countDocuments(), 0, "progress cleared once recorded");
    });

    it("a down stored in the database runs only when Pulumi state or migrations/ knows it", async () => {
        const db = freshDb();
        await migrate(db, { migrations: PROGRAM, target: 2, runBy: "test" });
        const marker = join(dirWithFiles({}), "pwned");
        const evil = (checksum: string) => JSON.stringify({ file: "002_add_indexes.down.json", description: "", commands: [], checksum, code: `module.exports.down = async () => require("fs").writeFileSync(${JSON.stringify(marker)}, "x");` });
        const older = PROGRAM.filter((m) => m.seq === 1);
        const state = { "002_add_indexes": PROGRAM[1].down! };
        await db.collection("_migrations").updateOne({ _id: "002_add_indexes" as never }, { $set: { downScript: evil(PROGRAM[1].down!.checksum) } });
        await assert.rejects(migrate(db, { migrations: older, target: 1, runBy: "test" }),
            /^MigrationError: migration 002_add_indexes: the down stored in the database \(_migrations\.downScript, digest [0-9a-f]{12}\) is known neither to Pulumi state nor to migrations\/, so it is not run: anyone who can write that collection could put code there\. Restore migrations/);
        await db.collection("_migrations").updateOne({ _id: "002_add_indexes" as never }, { $set: { downScript: evil("0".repeat(64)) } });
        await assert.rejects(migrate(db, { migrations: older, target: 1, runBy: "test", downs: state }),
            /the down stored in the database .* differs from the one Pulumi state recorded when its up ran and from migrations\//);
        assert.deepEqual((await readChangelog(db)).map((e) => e._id), ["001_add_email_verification", "002_add_indexes"]);
        // It claims the real file's checksum: the copy this side keeps runs (the one state recorded), never the stored code.
        await db.collection("_migrations").updateOne({ _id: "002_add_indexes" as never }, { $set: { downScript: evil(PROGRAM[1].down!.checksum) } });
        const r = await migrate(db, { migrations: older, target: 1, runBy: "test", downs: state });
        assert.deepEqual(r.steps, [{ direction: "down", id: "002_add_indexes" }]);
        assert.ok(!(await db.collection("notes").indexes()).some((i) => i.name === "idx_notes_year"), "state's down ran");
        assert.ok(!existsSync(marker), "the stored code never ran");
    });

    it("deleted and rewritten documents are saved first and put back by the down; dropDatabase never runs (issue #13)", async () => {
        const db = freshDb();
        await db.collection("notes").insertMany([{ _id: "a" as never, title: "A", spam: true, tags: ["x", "y"] }, { _id: "b" as never, title: "B", spam: false, tags: ["x"] }]);
        const m: Migration = {
            id: "003_cleanup", seq: 3,
            up: { file: "003_cleanup.up.json", description: "", checksum: "7".repeat(64), commands: [
                { delete: "notes", deletes: [{ q: { spam: true }, limit: 0 }] },
                { update: "notes", updates: [{ q: { _id: "b" }, u: { title: "B only" } }] },
            ] },
            down: { file: "003_cleanup.down.json", description: "", checksum: "8".repeat(64), commands: [{ noteshubRestoreBackup: "up" }] },
        };
        const before = await db.collection("notes").find({}).sort({ _id: 1 }).toArray();
        await migrate(db, { migrations: [...PROGRAM, m], target: 3, runBy: "test" });
        assert.deepEqual(await db.collection("notes").find({}).toArray(), [{ _id: "b", title: "B only" }]);
        // One backup per command, each of what that command found, in one attempt.
        const backups = await listBackups(db);
        assert.deepEqual(backups.map((b) => b.parts), [[{ collection: "notes", kind: "documents", fields: [], count: 1 }], [{ collection: "notes", kind: "documents", fields: [], count: 1 }]]);
        assert.equal(new Set(backups.map((b) => b.attempt)).size, 1);
        await migrate(db, { migrations: [...PROGRAM, m], target: 2, runBy: "test" });
        assert.deepEqual(await db.collection("notes").find({}).sort({ _id: 1 }).toArray(), before, "the down put both back as they were");
        // A collection renamed, and renamed back by the down (MongoDB runs renameCollection on admin).
        const rename: Migration = {
            id: "003_rename", seq: 3,
            up: { file: "003_rename.up.json", description: "", checksum: "a".repeat(64), commands: [{ renameCollection: `${db.databaseName}.notes`, to: `${db.databaseName}.posts` }] },
            down: { file: "003_rename.down.json", description: "", checksum: "b".repeat(64), commands: [{ renameCollection: `${db.databaseName}.posts`, to: `${db.databaseName}.notes` }] },
        };
        await migrate(db, { migrations: [...PROGRAM, rename], target: 3, runBy: "test" });
        assert.equal(await db.collection("posts").countDocuments(), 2);
        await migrate(db, { migrations: [...PROGRAM, rename], target: 2, runBy: "test" });
        assert.deepEqual(await db.collection("notes").find({}).sort({ _id: 1 }).toArray(), before);
        const nuke: Migration = { id: "003_nuke", seq: 3, up: { file: "003_nuke.up.json", description: "", checksum: "9".repeat(64), commands: [{ dropDatabase: 1 }] }, down: m.down };
        await assert.rejects(migrate(db, { migrations: [...PROGRAM, nuke], target: 3, runBy: "test" }), /drops the whole database \(dropDatabase\): refused, nothing was run/);
        assert.equal(await db.collection("notes").countDocuments(), 2);
    });

    it("the database's identity: written once, then another stack's or none is refused, unless adopted on purpose", async () => {
        const db = freshDb();
        const check = (stack: string, extra: Partial<Parameters<typeof checkIdentity>[1]> = {}) => checkIdentity(db, { stack, adopt: false, where: "database x", ranBefore: undefined, ...extra });
        assert.equal(await check("noteshub-a"), "written");
        assert.equal(await check("noteshub-a", { ranBefore: { schema: 2, identity: true } }), "matches");
        await assert.rejects(check("noteshub-b", { ranBefore: { schema: 0, identity: true } }),
            /^IdentityError: this is not the stack's database: database x belongs to stack noteshub-a \(since .*\), not noteshub-b\. Nothing was migrated and no colour was started on it\. .*set database\.adopt true for one pulumi up/);
        assert.equal(await check("noteshub-b", { adopt: true }), "adopted");
        assert.equal(await check("noteshub-b", { ranBefore: { schema: 0, identity: true } }), "matches");
        const empty = freshDb();
        await assert.rejects(checkIdentity(empty, { stack: "noteshub-b", adopt: false, where: "database y", ranBefore: { schema: 0, identity: true } }), /database y has no NotesHub data \(no identity, no changelog\)/);
        // A stack from before identities, at schema 0 (it never needed a migration): its database is taken as its own.
        assert.equal(await checkIdentity(empty, { stack: "noteshub-b", adopt: false, where: "database y", ranBefore: { schema: 0, identity: false } }), "written");
    });

    it("--restore-data puts back only the release's own backups, and never over data written since", async () => {
        const db = freshDb();
        await db.collection("notes").insertMany([{ _id: "a" as never, old_a: 1, old_b: "x" }, { _id: "b" as never, old_a: 2, old_b: "y" }]);
        const drop = (seq: number, field: string): Migration => ({
            id: `00${seq}_drop_${field}`, seq,
            up: { file: `00${seq}_drop_${field}.up.json`, description: "", checksum: String(seq).repeat(64), commands: [{ update: "notes", updates: [{ q: {}, u: { $unset: { [field]: "" } }, multi: true }] }] },
            down: { file: `00${seq}_drop_${field}.down.json`, description: "", checksum: String(seq + 1).repeat(64), commands: [{ noteshubRestoreBackup: "up" }] },
        });
        const all = [...PROGRAM, drop(3, "old_a"), drop(4, "old_b")];
        await migrate(db, { migrations: all, target: 4, runBy: "test" });
        // After the release, a user writes old_b on "b" again: newer than the backup.
        await db.collection("notes").updateOne({ _id: "b" as never }, { $set: { old_b: "written since" } });
        // Rolled back from a version needing 004 to one needing 003: only 004's backup is the release's.
        const restored = await restoreIn(db, { after: 3, upTo: 4 });
        assert.deepEqual(restored.map((r) => [r.migration, r.documents, r.kept, r.keptIds]), [["004_drop_old_b", 1, 1, ["b"]]]);
        const notes = Object.fromEntries((await db.collection("notes").find({}).toArray()).map((n) => [n._id, [n.old_a, n.old_b]]));
        assert.deepEqual(notes, { a: [undefined, "x"], b: [undefined, "written since"] }, "003's field stays removed; the newer write is kept");
        assert.deepEqual(await restoreIn(db, { after: 4, upTo: 4 }), [], "nothing of a release that needs no migration of its own");
    });
});
