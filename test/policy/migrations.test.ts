// migrations-have-downs and expand-before-contract, fed with descriptors of real migration files (infra's loader).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { describe as describeMigration, loadMigrations } from "../../infra/migrations/load";
import { fromRoot } from "../../infra/paths";
import { expandBeforeContract, migrationsHaveDowns } from "../../policy/migrations";
import { resource, stackViolationsOf, violationsOf } from "./run";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Descriptors of a migrations directory holding exactly these files. */
function descriptorsOf(files: Record<string, unknown>) {
    const dir = mkdtempSync(join(tmpdir(), "noteshub-policy-"));
    dirs.push(dir);
    for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, f), typeof body === "string" ? body : JSON.stringify(body));
    return loadMigrations(dir).map(describeMigration);
}
const cmds = (...commands: object[]) => ({ description: "t", commands });
const createIndex = { createIndexes: "notes", indexes: [{ key: { title: 1 }, name: "idx_title" }] };
const dropIndex = { dropIndexes: "notes", index: "idx_title" };
const update = (u: object) => ({ update: "notes", updates: [{ q: {}, u, multi: true }] });
const migrationsProps = (descriptors: unknown[], target = 99) => ({ kind: "Migrations", descriptors, target });

describe("policy migrations-have-downs", () => {
    it("passes the project's migrations", () => {
        const descriptors = loadMigrations(fromRoot("migrations")).map(describeMigration);
        assert.ok(descriptors.length >= 2);
        assert.deepEqual(violationsOf(migrationsHaveDowns, migrationsProps(descriptors)), []);
    });

    it("blocks an up without a down, naming the file", () => {
        const v = violationsOf(migrationsHaveDowns, migrationsProps(descriptorsOf({ "003_title_index.up.json": cmds(createIndex) })));
        assert.equal(v.length, 1);
        assert.match(v[0], /migration 003_title_index: migrations\/003_title_index\.up\.json has no down-migration/);
        assert.match(v[0], /Fix: add migrations\/003_title_index\.down\.json/);
    });

    it("blocks a declarative down with no commands", () => {
        const v = violationsOf(migrationsHaveDowns, migrationsProps(descriptorsOf({ "003_t.up.json": cmds(createIndex), "003_t.down.json": cmds() })));
        assert.match(v.join("\n"), /migrations\/003_t\.down\.json has no commands/);
    });

    it("blocks a down that does not undo its up (index created, never dropped; field renamed, never back)", () => {
        const v = violationsOf(migrationsHaveDowns, migrationsProps(descriptorsOf({
            "003_t.up.json": cmds(createIndex, update({ $rename: { author: "owner" } })),
            "003_t.down.json": cmds(update({ $unset: { owner: "" } })),
        })));
        assert.equal(v.length, 1);
        assert.match(v[0], /does not undo migrations\/003_t\.up\.json: the up creates index notes\.idx_title, the down never drops it and the up renames notes\.author to owner, the down never renames it back/);
    });

    it("blocks a code down whose body is empty", () => {
        const v = violationsOf(migrationsHaveDowns, migrationsProps(descriptorsOf({
            "003_t.up.ts": "export async function up(db: any) { await db.collection('notes').updateMany({}, { $set: { x: 1 } }); }",
            "003_t.down.ts": "export async function down(db: any) {\n  // TODO\n}",
        })));
        assert.match(v.join("\n"), /down\(db\) in migrations\/003_t\.down\.ts has an empty body/);
    });

    it("accepts downs that undo: index dropped, rename reversed, removed field restored from the backup, code", () => {
        const v = violationsOf(migrationsHaveDowns, migrationsProps(descriptorsOf({
            "003_t.up.json": cmds(createIndex, update({ $rename: { author: "owner" } })),
            "003_t.down.json": cmds(dropIndex, update({ $rename: { owner: "author" } })),
            "004_u.up.json": cmds(update({ $unset: { legacy: "" } })),
            "004_u.down.json": cmds({ noteshubRestoreBackup: "up" }),
            "005_c.up.ts": "export async function up(db: any) { await db.collection('a').insertOne({}); }",
            "005_c.down.ts": "export async function down(db: any) { await db.collection('a').deleteMany({}); }",
        })));
        assert.deepEqual(v, []);
    });

    it("sees every destructive form: each one with a down that does not restore is blocked (issue #13)", () => {
        const ping = cmds({ ping: 1 });
        const cases: [object, RegExp][] = [
            [{ delete: "notes", deletes: [{ q: {}, limit: 0 }] }, /the up deletes documents from notes, the down does not restore the backup/],
            [{ findAndModify: "notes", query: { _id: 1 }, remove: true }, /the up deletes documents from notes, the down does not restore the backup/],
            [update({ title: "replaced" }), /the up rewrites whole documents in notes, the down does not restore the backup/],
            [update([{ $project: { title: 1 } }]), /the up rewrites whole documents in notes/],
            [update([{ $unset: ["body"] }]), /the up removes field notes\.body, the down neither restores the backup nor sets it again/],
            [update({ $pull: { tags: "x" } }), /the up rewrites whole documents in notes/],
            [{ aggregate: "notes", pipeline: [{ $match: {} }, { $out: "archive" }], cursor: {} }, /the up overwrites collection archive, the down does not restore the backup/],
            [{ aggregate: "notes", pipeline: [{ $merge: { into: "archive" } }], cursor: {} }, /the up overwrites collection archive/],
            [{ renameCollection: "noteshub.notes", to: "noteshub.posts" }, /the up renames collection notes to posts, the down never renames it back/],
            [update({}), /the up rewrites whole documents in notes/],
            [update([{ $set: { body: "$$REMOVE" } }]), /the up removes field notes\.body/],
            [update({ $push: { tags: { $each: ["x"], $slice: -3 } } }), /the up rewrites whole documents in notes/],
            [{ createIndexes: "notes", indexes: [{ key: { uploaded_at: 1 }, name: "ttl", expireAfterSeconds: 60 }] }, /the up deletes documents from notes/],
            [{ collMod: "notes", index: { name: "ttl", expireAfterSeconds: 1 } }, /the up deletes documents from notes/],
            [{ dropDatabase: 1 }, /migrations\/003_d\.up\.json drops the whole database \(dropDatabase\), which no rollback can undo/],
            [{ eval: "db.notes.remove({})" }, /the up \(migrations\/003_d\.up\.json\) runs command eval, which noteshub can't read, so it counts as destructive/],
        ];
        for (const [command, re] of cases) {
            const v = violationsOf(migrationsHaveDowns, migrationsProps(descriptorsOf({ "003_d.up.json": cmds(command), "003_d.down.json": ping })));
            assert.equal(v.length, 1, `${JSON.stringify(command)}: ${v.join("\n")}`);
            assert.match(v[0], re, JSON.stringify(command));
        }
        // The same kinds with a down that restores the backup and renames back: passes.
        const restoring = violationsOf(migrationsHaveDowns, migrationsProps(descriptorsOf({
            "003_d.up.json": cmds({ delete: "notes", deletes: [{ q: { spam: true }, limit: 0 }] }, { renameCollection: "noteshub.a", to: "noteshub.b" }),
            "003_d.down.json": cmds({ renameCollection: "noteshub.b", to: "noteshub.a" }, { noteshubRestoreBackup: "up" }),
        })));
        assert.deepEqual(restoring, []);
    });
});

describe("policy expand-before-contract", () => {
    const release = (schema: Record<string, number>) => resource({
        kind: "Release", stack: "staging", retainedVersions: { current: "v1.1.0", previous: "v1.0.1", archived: "v1.0.0" }, schema,
    });
    const contracting = descriptorsOf({
        "001_a.up.json": cmds(createIndex), "001_a.down.json": cmds(dropIndex),
        "002_drop_legacy.up.json": cmds(update({ $unset: { legacy: "" } })), "002_drop_legacy.down.json": cmds({ noteshubRestoreBackup: "up" }),
    });

    it("blocks a contraction while a retained version still needs what it removes, naming version and migration", () => {
        const v = stackViolationsOf(expandBeforeContract, [release({ "v1.1.0": 2, "v1.0.1": 1, "v1.0.0": 1 }), resource(migrationsProps(contracting, 2))]);
        assert.equal(v.length, 2);
        assert.match(v[0], /migration 002_drop_legacy contracts the schema \(drops field notes\.legacy\) while retained version v1\.0\.1 \(schema 1\) still needs/);
        assert.match(v[1], /retained version v1\.0\.0/);
    });

    it("lets it run once every retained version needs it, and ignores it while it is not applied", () => {
        assert.deepEqual(stackViolationsOf(expandBeforeContract, [release({ "v1.1.0": 2, "v1.0.1": 2, "v1.0.0": 2 }), resource(migrationsProps(contracting, 2))]), []);
        assert.deepEqual(stackViolationsOf(expandBeforeContract, [release({ "v1.1.0": 1, "v1.0.1": 1, "v1.0.0": 0 }), resource(migrationsProps(contracting, 1))]), []);
    });

    it("a code migration that does not declare what it touches counts as contracting; one that declares does not", () => {
        const code = (declare: string) => descriptorsOf({
            "001_a.up.json": cmds(createIndex), "001_a.down.json": cmds(dropIndex),
            "002_t.up.ts": `${declare}export async function up(db: any) { await db.collection('users').updateMany({}, { $set: { x: 1 } }); }`,
            "002_t.down.ts": "export async function down(db: any) { await db.collection('users').updateMany({}, { $unset: { x: '' } }); }",
        });
        const v = stackViolationsOf(expandBeforeContract, [release({ "v1.1.0": 2, "v1.0.1": 1, "v1.0.0": 1 }), resource(migrationsProps(code(""), 2))]);
        assert.equal(v.length, 2);
        assert.match(v[0], /migration 002_t contracts the schema \(runs code that does not declare what it touches \(export const touches = \["collection", \.\.\.\]\), which counts as destructive\)/);
        assert.deepEqual(stackViolationsOf(expandBeforeContract, [release({ "v1.1.0": 2, "v1.0.1": 1, "v1.0.0": 1 }), resource(migrationsProps(code('export const touches = ["users"];\n'), 2))]), []);
    });
});
