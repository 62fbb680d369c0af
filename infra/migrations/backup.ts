// Backups before destructive steps (issue #4, runbook "Backups are recent and verified"): before a migration step
// removes or renames fields or drops a collection, what it is about to change is saved in the database itself
// (`_backups` lists them, `_backup_data` holds the values), so the data can be put back by restoreBackup, by hand or
// by an emergency rollback.
import type { Db, Document } from "mongodb";
import { touches, type Script } from "./load";

export const BACKUPS = "_backups";
export const BACKUP_DATA = "_backup_data";

export interface BackupPart {
    readonly collection: string;
    /** "fields": the listed fields of the matching documents; "collection": whole documents. */
    readonly kind: "fields" | "collection";
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

/** Saves what the script will remove or rewrite; returns the backup, or undefined when the script destroys nothing. */
export async function backupBefore(db: Db, migration: string, direction: "up" | "down", script: Script, runBy: string): Promise<BackupInfo | undefined> {
    const t = touches(script);
    const lossy = [...t.fieldsRemoved, ...t.fieldsRenamed];
    if (lossy.length === 0 && t.collectionsDropped.length === 0) return undefined;
    const id = `${migration}-${direction}-${new Date().toISOString()}`;
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
    const info: BackupInfo = { _id: id, migration, direction, createdAt: new Date(), runBy, parts };
    await db.collection<BackupInfo>(BACKUPS).insertOne(info);
    return info;
}

export async function listBackups(db: Db): Promise<BackupInfo[]> {
    return db.collection<BackupInfo>(BACKUPS).find({}).sort({ createdAt: -1 }).toArray();
}

/** The newest backup a migration's step made (e.g. what its up removed), if any. */
export async function latestBackup(db: Db, migration: string, direction: "up" | "down"): Promise<BackupInfo | undefined> {
    return (await db.collection<BackupInfo>(BACKUPS).find({ migration, direction }).sort({ createdAt: -1 }).limit(1).toArray())[0];
}

/** Puts a backup's values back: fields are set again on their documents, dropped documents inserted again. */
export async function restoreBackup(db: Db, id: string): Promise<{ documents: number }> {
    const info = await db.collection<BackupInfo>(BACKUPS).findOne({ _id: id });
    if (!info) throw new Error(`no backup ${id}; list them with listBackups (collection ${BACKUPS})`);
    let documents = 0;
    for await (const entry of db.collection(BACKUP_DATA).find({ backup: id })) {
        const col = db.collection(entry.collection as string);
        if (entry.doc) {
            await col.replaceOne({ _id: entry.ref }, entry.doc as Document, { upsert: true });
        } else {
            await col.updateOne({ _id: entry.ref }, { $set: entry.fields as Document });
        }
        documents++;
    }
    return { documents };
}
