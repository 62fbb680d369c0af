// Backups before destructive steps (issue #4, runbook "Backups are recent and verified"): before a migration step
// removes or renames fields, deletes or rewrites documents, overwrites or drops a collection (issue #13: every form
// load.ts touches() reads, and everything when it can't read a step), what it is about to change is saved in the
// database itself (`_backups` lists them, `_backup_data` holds the values), so the data can be put back by
// restoreBackup, by the migration's down, by hand or by an emergency rollback. The runner saves each command's
// data just before that command runs (the data as the command finds it, after the ones before it), all under one
// attempt: a rerun adds to the attempt it continues, and a down restores the whole attempt.
import type { Db, Document, Filter } from "mongodb";
import { touches, type Script, type Touches } from "./load";
import { isDuplicate } from "./lock";

export const BACKUPS = "_backups";
export const BACKUP_DATA = "_backup_data";

export interface BackupPart {
    readonly collection: string;
    /**
     * "fields": the listed fields of the matching documents; "collection": whole documents of a collection dropped;
     * "documents": whole documents the step deletes or rewrites (a down puts them back as they were).
     */
    readonly kind: "fields" | "collection" | "documents";
    readonly fields: string[];
    readonly count: number;
}

export interface BackupInfo {
    readonly _id: string;
    readonly migration: string;
    readonly direction: "up" | "down";
    readonly createdAt: Date;
    readonly runBy: string;
    readonly parts: BackupPart[];
    /** The run of the step it belongs to (reruns continue it); absent on backups made before attempts. */
    readonly attempt?: string;
}

const BATCH = 1000;

/** The value at a dotted path, or undefined. */
function at(doc: Document, path: string): unknown {
    return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Document)[k] : undefined), doc);
}

async function saveInBatches(db: Db, docs: AsyncIterable<Document>, toEntry: (d: Document) => Document): Promise<number> {
    const data = db.collection(BACKUP_DATA);
    let batch: Document[] = [];
    let count = 0;
    for await (const d of docs) {
        batch.push(toEntry(d));
        if (batch.length === BATCH) {
            await data.insertMany(batch);
            count += batch.length;
            batch = [];
        }
    }
    if (batch.length) await data.insertMany(batch);
    return count + batch.length;
}

/** Whole documents a step deletes (put back where missing) or rewrites (put back only by its own down). */
interface Saved {
    readonly filters: Filter<Document>[];
    readonly rewritten: boolean;
}

async function savedWhole(db: Db, script: Script, t: Touches): Promise<Map<string, Saved>> {
    const out = new Map<string, Saved>();
    const add = (coll: string, q: unknown, rewritten: boolean) => {
        const seen = out.get(coll);
        out.set(coll, { filters: [...(seen?.filters ?? []), (q && typeof q === "object" ? q : {}) as Filter<Document>], rewritten: (seen?.rewritten ?? false) || rewritten });
    };
    const whole = [...t.collectionsOverwritten, ...t.collectionsRewritten];
    if (t.unreadable.length) {
        // What can't be read may touch anything: every collection of the stack's data is saved whole.
        for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) if (!c.name.startsWith("_")) whole.push(c.name);
    }
    for (const coll of whole) add(coll, {}, true);
    for (const c of script.commands) {
        if (typeof c.delete === "string") for (const d of (c.deletes as { q?: unknown }[]) ?? []) add(c.delete, d?.q, false);
        if (typeof c.findAndModify === "string" && c.remove) add(c.findAndModify, c.query, false);
        if (typeof c.findAndModify === "string" && !c.remove && t.documentsReplaced.includes(c.findAndModify)) add(c.findAndModify, c.query, true);
        if (typeof c.update === "string" && t.documentsReplaced.includes(c.update)) for (const u of (c.updates as { q?: unknown }[]) ?? []) add(c.update, u?.q, true);
        // A TTL index (new or changed) deletes what is older than it: the whole collection is saved.
        const ttl = typeof c.createIndexes === "string" ? c.createIndexes : typeof c.collMod === "string" ? c.collMod : undefined;
        if (ttl && t.documentsDeleted.includes(ttl)) add(ttl, {}, false);
    }
    return out;
}

/**
 * Saves what the script will remove or rewrite; returns the backup, or undefined when the script destroys nothing.
 * The runner calls it with one command at a time, just before that command.
 */
export async function backupBefore(db: Db, migration: string, direction: "up" | "down", script: Script, runBy: string, attempt?: string): Promise<BackupInfo | undefined> {
    const t = touches(script);
    if (t.databaseDropped) throw new Error(`migration ${migration} (${direction}) drops the whole database (dropDatabase): refused, nothing was run`);
    const lossy = [...t.fieldsRemoved, ...t.fieldsRenamed];
    const whole = await savedWhole(db, script, t);
    if (lossy.length === 0 && t.collectionsDropped.length === 0 && whole.size === 0) return undefined;
    const id = `${migration}-${direction}-${new Date().toISOString()}-${Math.random().toString(36).slice(2, 8)}`;
    const parts: BackupPart[] = [];
    const byCollection = new Map<string, string[]>();
    for (const path of lossy) {
        const [coll, ...rest] = path.split(".");
        byCollection.set(coll, [...(byCollection.get(coll) ?? []), rest.join(".")]);
    }
    for (const [coll, fields] of byCollection) {
        const cursor = db.collection(coll).find({ $or: fields.map((f) => ({ [f]: { $exists: true } })) }, { projection: Object.fromEntries(fields.map((f) => [f, 1])) });
        const count = await saveInBatches(db, cursor, (d) => ({ backup: id, collection: coll, ref: d._id, fields: Object.fromEntries(fields.map((f) => [f, at(d, f)]).filter(([, v]) => v !== undefined)) }));
        parts.push({ collection: coll, kind: "fields", fields, count });
    }
    for (const coll of t.collectionsDropped) {
        const count = await saveInBatches(db, db.collection(coll).find({}), (d) => ({ backup: id, collection: coll, ref: d._id, doc: d }));
        parts.push({ collection: coll, kind: "collection", fields: [], count });
    }
    for (const [coll, saved] of whole) {
        const filter = saved.filters.some((f) => Object.keys(f).length === 0) ? {} : saved.filters.length === 1 ? saved.filters[0] : { $or: saved.filters };
        const count = await saveInBatches(db, db.collection(coll).find(filter), (d) => ({ backup: id, collection: coll, ref: d._id, doc: d, ...(saved.rewritten ? { rewritten: true } : {}) }));
        parts.push({ collection: coll, kind: "documents", fields: [], count });
    }
    const info: BackupInfo = { _id: id, migration, direction, createdAt: new Date(), runBy, parts, ...(attempt ? { attempt } : {}) };
    await db.collection<BackupInfo>(BACKUPS).insertOne(info);
    return info;
}

export async function listBackups(db: Db): Promise<BackupInfo[]> {
    return db.collection<BackupInfo>(BACKUPS).find({}).sort({ createdAt: -1 }).toArray();
}

/**
 * The backups of one attempt of a migration's step, newest first: the latest attempt (made no later than `before`,
 * when given). An older backup without an attempt stands alone.
 */
export function attemptOf(backups: BackupInfo[], migration: string, direction: "up" | "down", before?: Date): BackupInfo[] {
    const mine = backups.filter((b) => b.migration === migration && b.direction === direction && (!before || new Date(b.createdAt) <= before))
        .sort((x, y) => new Date(y.createdAt).getTime() - new Date(x.createdAt).getTime());
    const [newest] = mine;
    if (!newest) return [];
    return newest.attempt ? mine.filter((b) => b.attempt === newest.attempt) : [newest];
}

/** The latest attempt's backups of a migration's step (e.g. what its up removed), newest first. */
export async function latestAttempt(db: Db, migration: string, direction: "up" | "down"): Promise<BackupInfo[]> {
    return attemptOf(await db.collection<BackupInfo>(BACKUPS).find({ migration, direction }).toArray(), migration, direction);
}

export interface RestoreResult {
    /** Documents whose saved values were put back. */
    readonly documents: number;
    /** Documents left as they are because they were written after the backup (a sample of their ids in `keptIds`). */
    readonly kept: number;
    readonly keptIds: string[];
}

/**
 * Puts a backup's values back where they are missing: a removed field is set again on a document that doesn't have
 * it, a dropped or deleted document inserted again when its _id is free. What was written since (the field is there
 * again, a document with that _id exists) is newer than the backup and never overwritten: it is counted in `kept`
 * (issue #13). Only `undo` (the migration's own down, `{"noteshubRestoreBackup": "up"}`) puts documents its up
 * rewrote back as they were: undoing that rewrite is what the down is for.
 */
export async function restoreBackup(db: Db, id: string, opts: { undo?: boolean } = {}): Promise<RestoreResult> {
    const info = await db.collection<BackupInfo>(BACKUPS).findOne({ _id: id });
    if (!info) throw new Error(`no backup ${id}; list them with listBackups (collection ${BACKUPS})`);
    let documents = 0;
    const keptIds: string[] = [];
    for await (const entry of db.collection(BACKUP_DATA).find({ backup: id })) {
        const col = db.collection(entry.collection as string);
        let kept = false;
        if (entry.doc && entry.rewritten) {
            // A document the step rewrote (or saved just in case): only the migration's own down puts it back as it
            // was before. Anywhere else it is left alone: re-inserting it would bring back what users deleted since.
            if (!opts.undo) continue;
            await col.replaceOne({ _id: entry.ref }, entry.doc as Document, { upsert: true });
        } else if (entry.doc) {
            try {
                await col.insertOne(entry.doc as Document);
            } catch (err) {
                if (!isDuplicate(err)) throw err;
                kept = true;
            }
        } else {
            const fields = entry.fields as Document;
            const now = await col.findOne({ _id: entry.ref }, { projection: Object.fromEntries(Object.keys(fields).map((f) => [f, 1])) });
            const missing = Object.keys(fields).filter((f) => now && at(now, f) === undefined);
            kept = !now || missing.length < Object.keys(fields).length;
            // Set only what is still missing at the moment of writing: a write in between wins.
            if (missing.length) await col.updateOne({ _id: entry.ref, ...Object.fromEntries(missing.map((f) => [f, { $exists: false }])) }, { $set: Object.fromEntries(missing.map((f) => [f, fields[f]])) });
        }
        if (kept) keptIds.push(String(entry.ref));
        else documents++;
    }
    return { documents, kept: keptIds.length, keptIds: keptIds.slice(0, 10) };
}
