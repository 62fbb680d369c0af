import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { evaluate, loadMigrations, MigrationFileError, touches } from "../../infra/migrations/load";
import { planSteps, targetSeq } from "../../infra/migrations/plan";
import { fromRoot } from "../../infra/paths";

const tempDirs: string[] = [];
after(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const dirWith = (files: Record<string, string>) => {
    const d = mkdtempSync(join(tmpdir(), "noteshub-mig-"));
    tempDirs.push(d);
    for (const [f, c] of Object.entries(files)) writeFileSync(join(d, f), c);
    return d;
};
const cmds = (...c: object[]) => JSON.stringify({ description: "t", commands: c });

describe("loadMigrations", () => {
    it("reads the runbook's two migrations with checksums and what they touch", () => {
        const list = loadMigrations(fromRoot("migrations"));
        assert.deepEqual(list.map((m) => [m.id, m.seq, !!m.down]), [["001_add_email_verification", 1, true], ["002_add_indexes", 2, true]]);
        assert.match(list[0].up.checksum, /^[0-9a-f]{64}$/);
        assert.deepEqual(touches(list[0].up).fieldsSet, ["users.email_verified"]);
        assert.deepEqual(touches(list[0].down!).fieldsRemoved, ["users.email_verified"]);
        assert.deepEqual(touches(list[1].up).indexesCreated, ["notes.idx_notes_department", "notes.idx_notes_year", "notes.idx_notes_uploaded_at"]);
        assert.deepEqual(touches(list[1].down!).indexesDropped, ["notes.idx_notes_department", "notes.idx_notes_year", "notes.idx_notes_uploaded_at"]);
    });

    it("keeps an up without a down (for the policy to judge) and rejects a down without an up", () => {
        assert.equal(loadMigrations(dirWith({ "001_a.up.json": cmds({ ping: 1 }) }))[0].down, undefined);
        assert.throws(() => loadMigrations(dirWith({ "001_a.down.json": cmds({ ping: 1 }) })), new MigrationFileError("migrations/001_a.down.json has no 001_a.up file"));
    });

    it("names files that break the rules", () => {
        assert.throws(() => loadMigrations(dirWith({ "1_a.up.json": cmds() })), /migrations\/1_a\.up\.json: name must be NNN_name\.up\.<json\|js\|ts>/);
        assert.throws(() => loadMigrations(dirWith({ "001_a.up.json": "{ nope" })), /migrations\/001_a\.up\.json: not valid JSON/);
        assert.throws(() => loadMigrations(dirWith({ "001_a.up.json": JSON.stringify({ commands: [1] }) })), /migrations\/001_a\.up\.json: must be \{"description"/);
        assert.throws(() => loadMigrations(dirWith({ "001_a.up.json": cmds({ ping: 1 }), "001_b.up.json": cmds({ ping: 1 }) })), /001_a and 001_b share the number 001/);
    });

    it("loads code migrations in JS and TypeScript, keeping their source as text", () => {
        const list = loadMigrations(dirWith({
            "001_split_names.up.ts": "// split name into first/last\nimport type { Db } from 'mongodb';\nexport async function up(db: Db): Promise<void> { await db.collection('users').updateMany({}, [{ $set: { first: '$name' } }]); }\n",
            "001_split_names.down.js": "exports.down = async (db) => { await db.collection('users').updateMany({}, { $unset: { first: '' } }); };\n",
        }));
        assert.equal(list[0].up.description, "split name into first/last");
        assert.match(list[0].up.code!, /exports\.up = up|exports\.up =/);
        assert.doesNotMatch(list[0].up.code!, /: Db/, "TypeScript is transpiled");
        assert.deepEqual(list[0].up.commands, []);
        assert.equal(typeof evaluate(list[0].down!.code!).down, "function");
    });

    it("names a code migration that exports the wrong function, and two files for one direction", () => {
        assert.throws(() => loadMigrations(dirWith({ "001_a.up.js": "exports.down = async () => {};" })), /migrations\/001_a\.up\.js: must export a function up\(db\)/);
        assert.throws(() => loadMigrations(dirWith({ "001_a.up.js": "exports.up = async () => {};", "001_a.up.json": cmds({ ping: 1 }) })), /001_a has two up files/);
    });

    it("changes the checksum when a file changes by one byte", () => {
        const a = loadMigrations(dirWith({ "001_a.up.json": cmds({ ping: 1 }) }))[0].up.checksum;
        const b = loadMigrations(dirWith({ "001_a.up.json": cmds({ ping: 1 }) + " " }))[0].up.checksum;
        assert.notEqual(a, b);
    });
});

describe("planSteps", () => {
    const ids = ["001_a", "002_b", "003_c"];
    it("runs the missing ups in order", () => {
        assert.deepEqual(planSteps([], ids, 2), [{ direction: "up", id: "001_a" }, { direction: "up", id: "002_b" }]);
        assert.deepEqual(planSteps(["001_a"], ids, 3), [{ direction: "up", id: "002_b" }, { direction: "up", id: "003_c" }]);
    });
    it("runs downs newest first, even for migrations the program no longer has", () => {
        assert.deepEqual(planSteps(["001_a", "002_b", "003_c"], ["001_a"], 1), [{ direction: "down", id: "003_c" }, { direction: "down", id: "002_b" }]);
    });
    it("does nothing at the target", () => {
        assert.deepEqual(planSteps(["001_a", "002_b"], ids, 2), []);
    });
    it("names a missing up and an inconsistent changelog", () => {
        assert.throws(() => planSteps([], ["001_a"], 2), /schema 002 is needed but migration 002 is not in migrations\//);
        assert.throws(() => planSteps(["001_a", "003_c"], ids, 3), /has a gap before 003_c/);
    });
    it("targets the newest schema any running colour needs", () => {
        assert.equal(targetSeq([1, 2]), 2);
        assert.equal(targetSeq([0, 0]), 0);
        assert.equal(targetSeq([]), 0);
    });
});
