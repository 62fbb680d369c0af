// rollback --emergency --restore-data: puts back the newest migration backup (runbook "Emergency Rollback": restore
// the last backup when the data is at fault). Reaches the database through the relay the migrations use (no port).
import { DB_PORT } from "../infra/components/database";
import type { NotesHubConfig } from "../infra/config";
import { connect } from "../infra/docker/engine";
import { openRelay } from "../infra/docker/relay";
import { listBackups, restoreBackup } from "../infra/migrations/backup";
import { namesFor } from "../infra/names";

export interface Restored {
    readonly backup: string;
    readonly migration: string;
    readonly createdAt: string;
    readonly documents: number;
}

export async function restoreNewestBackup(cfg: NotesHubConfig): Promise<Restored | undefined> {
    const { MongoClient } = await import("mongodb");
    const relay = await openRelay(connect(cfg.docker), namesFor(cfg).of("db"), DB_PORT);
    const d = cfg.database;
    const client = new MongoClient(`mongodb://${encodeURIComponent(d.username)}:${encodeURIComponent(d.password)}@${relay.address}/${d.name}?authSource=admin&directConnection=true`, { serverSelectionTimeoutMS: 15_000 });
    try {
        const db = client.db(d.name);
        const [newest] = await listBackups(db); // newest first
        if (!newest) return undefined;
        const r = await restoreBackup(db, newest._id);
        return { backup: newest._id, migration: newest.migration, createdAt: new Date(newest.createdAt).toISOString(), documents: r.documents };
    } finally {
        await client.close().catch(() => undefined);
        await relay.close();
    }
}
