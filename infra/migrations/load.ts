// Reads migrations/ into plain, known descriptors (ids, checksums, commands, what each touches), so the migration
// resource can keep every applied migration's down in state and the policy pack can judge them at preview time.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type Command = Record<string, unknown>;

export interface Script {
    readonly file: string;
    readonly description: string;
    readonly commands: Command[];
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
    readonly collectionsDropped: string[];
}

export interface Migration {
    /** e.g. 002_add_indexes */
    readonly id: string;
    /** e.g. 2 */
    readonly seq: number;
    readonly up: Script;
    readonly down?: Script;
}

const NAME_RE = /^(\d{3})_([a-z0-9_]+)\.(up|down)\.json$/;

export class MigrationFileError extends Error {}

function readScript(dir: string, file: string): Script {
    const text = readFileSync(join(dir, file));
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
        if (!file.endsWith(".json")) continue;
        const m = NAME_RE.exec(file);
        if (!m) throw new MigrationFileError(`migrations/${file}: name must be NNN_name.up.json or NNN_name.down.json (lowercase, digits, _)`);
        const id = `${m[1]}_${m[2]}`;
        const entry = byId.get(id) ?? { seq: Number(m[1]) };
        entry[m[3] as "up" | "down"] = readScript(dir, file);
        byId.set(id, entry);
    }
    const list: Migration[] = [];
    const seqs = new Map<number, string>();
    for (const [id, e] of [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (!e.up) throw new MigrationFileError(`migrations/${id}.down.json has no ${id}.up.json`);
        if (seqs.has(e.seq)) throw new MigrationFileError(`migrations: ${seqs.get(e.seq)} and ${id} share the number ${String(e.seq).padStart(3, "0")}`);
        seqs.set(e.seq, id);
        list.push({ id, seq: e.seq, up: e.up, ...(e.down ? { down: e.down } : {}) });
    }
    return list;
}

const keysOf = (o: unknown): string[] => (o && typeof o === "object" ? Object.keys(o) : []);

/** What a script's commands touch. Unknown commands touch nothing we can name. */
export function touches(script: Script): Touches {
    const t = { indexesCreated: [] as string[], indexesDropped: [] as string[], fieldsSet: [] as string[], fieldsRemoved: [] as string[], fieldsRenamed: [] as string[], collectionsDropped: [] as string[] };
    for (const c of script.commands) {
        if (typeof c.createIndexes === "string") {
            for (const ix of (c.indexes as { name?: string }[]) ?? []) if (ix.name) t.indexesCreated.push(`${c.createIndexes}.${ix.name}`);
        }
        if (typeof c.dropIndexes === "string") {
            const names = Array.isArray(c.index) ? c.index : [c.index];
            for (const n of names) if (typeof n === "string") t.indexesDropped.push(`${c.dropIndexes}.${n}`);
        }
        if (typeof c.drop === "string") t.collectionsDropped.push(c.drop);
        if (typeof c.update === "string") {
            for (const u of (c.updates as { u?: Record<string, unknown> }[]) ?? []) {
                for (const f of keysOf(u.u?.$set)) t.fieldsSet.push(`${c.update}.${f}`);
                for (const f of keysOf(u.u?.$unset)) t.fieldsRemoved.push(`${c.update}.${f}`);
                for (const f of keysOf(u.u?.$rename)) t.fieldsRenamed.push(`${c.update}.${f}`);
            }
        }
    }
    return t;
}
