// Reads migrations/ into plain, known descriptors (ids, checksums, commands, what each touches), so the migration
// resource can keep every applied migration's down in state and the policy pack can judge them at preview time.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type Command = Record<string, unknown>;

export interface Script {
    readonly file: string;
    readonly description: string;
    /** Declarative: database commands run in order (empty for code). */
    readonly commands: Command[];
    /** Code: CommonJS source (TypeScript transpiled) exporting `up(db)` or `down(db)`; kept as text in state. */
    readonly code?: string;
    /** sha256 of the file's bytes: a changed file after it was applied is tampering. */
    readonly checksum: string;
}

/** What a script does to the data, read from its commands (for the policy pack and backups). */
export interface Touches {
    readonly indexesCreated: string[];
    readonly indexesDropped: string[];
    readonly fieldsSet: string[];
    readonly fieldsRemoved: string[];
    readonly fieldsRenamed: string[];
    /** Where each renamed field went (same order as fieldsRenamed), e.g. users.mail -> users.email. */
    readonly fieldsRenamedTo: string[];
    readonly collectionsCreated: string[];
    readonly collectionsDropped: string[];
    /** The script puts back its up's backup (`{"noteshubRestoreBackup": "up"}`). */
    readonly restoresBackup: boolean;
    /** Collections it deletes documents from (`delete`, `findAndModify` with `remove`). */
    readonly documentsDeleted: string[];
    /**
     * Collections whose documents it rewrites beyond setting fields: replacement updates, pipeline updates that
     * `$project`/`$replaceRoot`/`$replaceWith`, `$pull`/`$pop`/`$pullAll`.
     */
    readonly documentsReplaced: string[];
    readonly collectionsRenamed: string[];
    /** Where each renamed collection went (same order as collectionsRenamed). */
    readonly collectionsRenamedTo: string[];
    /** Collections it overwrites: `$out`/`$merge` targets, `renameCollection` with `dropTarget`. */
    readonly collectionsOverwritten: string[];
    /** Collections a code script declares it rewrites (`export const touches = ["users"]`). */
    readonly collectionsRewritten: string[];
    readonly databaseDropped: boolean;
    /** What can't be read, e.g. an unknown command, or code that doesn't declare what it touches: destructive. */
    readonly unreadable: string[];
}

export interface Migration {
    /** e.g. 002_add_indexes */
    readonly id: string;
    /** e.g. 2 */
    readonly seq: number;
    readonly up: Script;
    readonly down?: Script;
}

const NAME_RE = /^(\d{3})_([a-z0-9_]+)\.(up|down)\.(json|js|ts)$/;

export class MigrationFileError extends Error {}

/** A code migration: its source as CommonJS text, checked to export the right function. */
function readCode(dir: string, file: string, direction: "up" | "down", text: Buffer): Script {
    let code = text.toString("utf8");
    if (file.endsWith(".ts")) {
        const ts = require("typescript") as typeof import("typescript");
        code = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    }
    const fn = evaluate(code)[direction];
    if (typeof fn !== "function") throw new MigrationFileError(`migrations/${file}: must export a function ${direction}(db) (or a default function)`);
    const description = /^\s*\/\/\s*(.+)$/m.exec(text.toString("utf8"))?.[1] ?? "";
    return { file, description, commands: [], code, checksum: createHash("sha256").update(text).digest("hex") };
}

/** Loads CommonJS source; `up`/`down` may also be the default export. */
export function evaluate(code: string): Record<string, unknown> {
    const module = { exports: {} as Record<string, unknown> };
    new Function("module", "exports", "require", code)(module, module.exports, require);
    const e = module.exports;
    const d = e.default;
    return typeof d === "function" ? { up: d, down: d, ...e } : e;
}

function readScript(dir: string, file: string, direction: "up" | "down"): Script {
    const text = readFileSync(join(dir, file));
    if (!file.endsWith(".json")) return readCode(dir, file, direction, text);
    let parsed: unknown;
    try {
        parsed = JSON.parse(text.toString("utf8"));
    } catch (err) {
        throw new MigrationFileError(`migrations/${file}: not valid JSON (${(err as Error).message})`);
    }
    const doc = parsed as { description?: unknown; commands?: unknown };
    if (!doc || typeof doc !== "object" || !Array.isArray(doc.commands) || !doc.commands.every((c) => c && typeof c === "object" && !Array.isArray(c) && Object.keys(c).length > 0)) {
        throw new MigrationFileError(`migrations/${file}: must be {"description": "...", "commands": [ {<database command>}, ... ]}`);
    }
    return {
        file,
        description: typeof doc.description === "string" ? doc.description : "",
        commands: doc.commands as Command[],
        checksum: createHash("sha256").update(text).digest("hex"),
    };
}

/** Every migration in the directory, in order; a file that doesn't fit the naming or the format is an error. */
export function loadMigrations(dir: string): Migration[] {
    const byId = new Map<string, { seq: number; up?: Script; down?: Script }>();
    for (const file of readdirSync(dir).sort()) {
        if (!/\.(json|js|ts)$/.test(file)) continue;
        const m = NAME_RE.exec(file);
        if (!m) throw new MigrationFileError(`migrations/${file}: name must be NNN_name.up.<json|js|ts> or NNN_name.down.<json|js|ts> (lowercase, digits, _)`);
        const id = `${m[1]}_${m[2]}`;
        const direction = m[3] as "up" | "down";
        const entry = byId.get(id) ?? { seq: Number(m[1]) };
        if (entry[direction]) throw new MigrationFileError(`migrations: ${id} has two ${direction} files (${entry[direction]!.file}, ${file}); keep one`);
        entry[direction] = readScript(dir, file, direction);
        byId.set(id, entry);
    }
    const list: Migration[] = [];
    const seqs = new Map<number, string>();
    for (const [id, e] of [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (!e.up) throw new MigrationFileError(`migrations/${e.down!.file} has no ${id}.up file`);
        if (seqs.has(e.seq)) throw new MigrationFileError(`migrations: ${seqs.get(e.seq)} and ${id} share the number ${String(e.seq).padStart(3, "0")}`);
        seqs.set(e.seq, id);
        list.push({ id, seq: e.seq, up: e.up, ...(e.down ? { down: e.down } : {}) });
    }
    return list;
}

const keysOf = (o: unknown): string[] => (o && typeof o === "object" ? Object.keys(o) : []);

/** Commands that change nothing, or only what the lists above name. */
// An array, not a Set: dynamic providers carry this module in a serialized closure, which keeps no Set.
const READ_OR_KNOWN = ["noteshubRestoreBackup", "create", "createIndexes", "dropIndexes", "drop", "update", "insert", "delete", "findAndModify", "renameCollection", "aggregate", "dropDatabase", "collMod", "ping", "find", "count", "listCollections", "listIndexes"];
/** Update operators that take values away (an array element, a whole document's other fields). */
const LOSSY_OPERATORS = ["$pull", "$pop", "$pullAll"];
const REPLACING_STAGES = ["$project", "$replaceRoot", "$replaceWith"];
const CODE_UNDECLARED = 'code that does not declare what it touches (export const touches = ["collection", ...])';

type MutableTouches = { -readonly [K in keyof Touches]: Touches[K] extends readonly string[] ? string[] : Touches[K] };

/** An update document (`u` of an update, `update` of a findAndModify) against one collection. */
function readUpdate(t: MutableTouches, coll: string, u: unknown): void {
    if (Array.isArray(u)) {
        // Pipeline form: each stage reads the document as the stage before left it.
        for (const stage of u as Record<string, unknown>[]) {
            for (const op of ["$set", "$addFields"]) {
                const fields = (stage?.[op] ?? {}) as Record<string, unknown>;
                // "$$REMOVE" as a value takes the field away.
                for (const f of keysOf(fields)) (fields[f] === "$$REMOVE" ? t.fieldsRemoved : t.fieldsSet).push(`${coll}.${f}`);
            }
            const unset = stage?.$unset;
            for (const f of typeof unset === "string" ? [unset] : Array.isArray(unset) ? unset : []) t.fieldsRemoved.push(`${coll}.${String(f)}`);
            if (REPLACING_STAGES.some((k) => stage && k in stage)) t.documentsReplaced.push(coll);
        }
        return;
    }
    const ops = keysOf(u);
    if (ops.every((k) => !k.startsWith("$"))) {
        t.documentsReplaced.push(coll); // a replacement ({} included): every field not in it is gone
        return;
    }
    const doc = u as Record<string, unknown>;
    for (const f of keysOf(doc.$set)) t.fieldsSet.push(`${coll}.${f}`);
    for (const f of keysOf(doc.$unset)) t.fieldsRemoved.push(`${coll}.${f}`);
    const renames = doc.$rename as Record<string, unknown> | undefined;
    for (const f of keysOf(renames)) {
        t.fieldsRenamed.push(`${coll}.${f}`);
        t.fieldsRenamedTo.push(`${coll}.${String(renames![f])}`);
    }
    // $push with $slice cuts the array down.
    const slices = Object.values((doc.$push ?? {}) as Record<string, unknown>).some((v) => v && typeof v === "object" && "$slice" in (v as object));
    if (slices || LOSSY_OPERATORS.some((k) => k in doc)) t.documentsReplaced.push(coll);
}

/** A collection name from `renameCollection`'s "db.coll" (the database part dropped). */
const collOf = (ns: unknown) => String(ns).split(".").slice(1).join(".") || String(ns);

/** `$out`/`$merge` targets of an aggregation pipeline. */
function writtenBy(pipeline: unknown): string[] {
    const out: string[] = [];
    for (const stage of (Array.isArray(pipeline) ? pipeline : []) as Record<string, unknown>[]) {
        const o = stage?.$out as unknown;
        if (o !== undefined) out.push(typeof o === "string" ? o : String((o as { coll?: unknown }).coll));
        const m = stage?.$merge as unknown;
        if (m !== undefined) {
            const into = typeof m === "string" ? m : (m as { into?: unknown }).into;
            out.push(typeof into === "string" ? into : String((into as { coll?: unknown })?.coll));
        }
    }
    return out;
}

/** What a script's commands touch; what can't be read is listed as unreadable, never taken as harmless. */
export function touches(script: Script): Touches {
    const t: MutableTouches = {
        indexesCreated: [], indexesDropped: [], fieldsSet: [], fieldsRemoved: [], fieldsRenamed: [], fieldsRenamedTo: [], collectionsCreated: [], collectionsDropped: [], restoresBackup: false,
        documentsDeleted: [], documentsReplaced: [], collectionsRenamed: [], collectionsRenamedTo: [], collectionsOverwritten: [], collectionsRewritten: [], databaseDropped: false, unreadable: [],
    };
    if (script.code !== undefined) {
        const declared = evaluate(script.code).touches;
        if (Array.isArray(declared) && declared.every((c) => typeof c === "string" && c !== "")) t.collectionsRewritten.push(...(declared as string[]));
        else t.unreadable.push(CODE_UNDECLARED);
        return t;
    }
    for (const c of script.commands) {
        const name = Object.keys(c)[0];
        if (!READ_OR_KNOWN.includes(name)) t.unreadable.push(`command ${name}`);
        if ("noteshubRestoreBackup" in c) t.restoresBackup = true;
        if ("dropDatabase" in c) t.databaseDropped = true;
        if (typeof c.create === "string") t.collectionsCreated.push(c.create);
        if (typeof c.createIndexes === "string") {
            for (const ix of (c.indexes as { name?: string; expireAfterSeconds?: unknown }[]) ?? []) {
                if (ix.name) t.indexesCreated.push(`${c.createIndexes}.${ix.name}`);
                // A TTL index deletes documents, now and from then on.
                if (ix.expireAfterSeconds !== undefined) t.documentsDeleted.push(c.createIndexes);
            }
        }
        if (typeof c.collMod === "string" && JSON.stringify(c).includes("expireAfterSeconds")) t.documentsDeleted.push(c.collMod);
        if (typeof c.dropIndexes === "string") {
            const names = Array.isArray(c.index) ? c.index : [c.index];
            for (const n of names) if (typeof n === "string") t.indexesDropped.push(`${c.dropIndexes}.${n}`);
        }
        if (typeof c.drop === "string") t.collectionsDropped.push(c.drop);
        if (typeof c.update === "string") for (const u of (c.updates as { u?: unknown }[]) ?? []) readUpdate(t, c.update, u?.u);
        if (typeof c.delete === "string") t.documentsDeleted.push(c.delete);
        if (typeof c.findAndModify === "string") {
            if (c.remove) t.documentsDeleted.push(c.findAndModify);
            else if (c.update !== undefined) readUpdate(t, c.findAndModify, c.update);
        }
        if (typeof c.renameCollection === "string") {
            t.collectionsRenamed.push(collOf(c.renameCollection));
            t.collectionsRenamedTo.push(collOf(c.to));
            if (c.dropTarget) t.collectionsOverwritten.push(collOf(c.to));
        }
        if (typeof c.aggregate === "string") t.collectionsOverwritten.push(...writtenBy(c.pipeline));
    }
    return t;
}

/** What the policy pack reads about one script: plain values, known at preview (issue #5). */
export interface ScriptDescriptor {
    readonly file: string;
    readonly checksum: string;
    readonly format: "commands" | "code";
    /** Number of database commands (declarative scripts). */
    readonly commands: number;
    /** A code script whose function body is empty: it provably does nothing. */
    readonly emptyBody: boolean;
    /** What the commands touch; a code script's effects can't be read, so its lists stay empty. */
    readonly touches: Touches;
}

export interface MigrationDescriptor {
    readonly id: string;
    readonly seq: number;
    readonly up: ScriptDescriptor;
    readonly down: ScriptDescriptor | null;
}

/** True when a function's body holds nothing but whitespace and comments. */
export function hasEmptyBody(fn: Function): boolean {
    const src = fn.toString();
    const open = src.indexOf("{", Math.max(0, src.indexOf(")")));
    if (open < 0 || !src.trimEnd().endsWith("}")) return false; // an expression-bodied arrow does something
    const body = src.slice(open + 1, src.trimEnd().length - 1);
    return body.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "").trim() === "";
}

function describeScript(script: Script, direction: "up" | "down"): ScriptDescriptor {
    const code = script.code !== undefined;
    const fn = code ? evaluate(script.code!)[direction] : undefined;
    return {
        file: script.file,
        checksum: script.checksum,
        format: code ? "code" : "commands",
        commands: script.commands.length,
        emptyBody: typeof fn === "function" && hasEmptyBody(fn),
        touches: touches(script),
    };
}

export function describe(m: Migration): MigrationDescriptor {
    return { id: m.id, seq: m.seq, up: describeScript(m.up, "up"), down: m.down ? describeScript(m.down, "down") : null };
}
