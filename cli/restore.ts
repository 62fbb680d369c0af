// rollback --emergency --restore-data (runbook "Emergency Rollback": restore the last backup when the data is at
// fault). Only what the release being left behind changed is put back: the backups its own migrations took (those the
// version rolled back to does not need), never another migration's, and never over data written since (backup.ts).
// Reaches the database through the relay the migrations use (no port).
import type { Db } from "mongodb";
import { DB_PORT } from "../infra/components/database";
import type { NotesHubConfig } from "../infra/config";
import { connect } from "../infra/docker/engine";
import { openRelay } from "../infra/docker/relay";
import { attemptOf, listBackups, restoreBackup, type BackupInfo } from "../infra/migrations/backup";
import { readChangelog, type ChangelogEntry } from "../infra/migrations/runner";
import { namesFor } from "../infra/names";

export interface Restored {
    readonly backup: string;
    readonly migration: string;
    readonly createdAt: string;
    readonly documents: number;
    /** Documents written since the backup, left as they are. */
    readonly kept: number;
    readonly keptIds: string[];
}

export interface RestorePlan {
    /** The migrations the release rolled back from needs and the version rolled back to does not (their numbers). */
    readonly after: number;
    readonly upTo: number;
}

/**
 * For each migration numbered in (after, upTo] that is applied now, the backups of the run that applied it (the
 * latest attempt no later than its changelog record), newest migration first. A backup from an earlier up and down
 * of the same migration is not the release's.
 */
export function backupsToRestore(backups: BackupInfo[], applied: ChangelogEntry[], plan: RestorePlan): BackupInfo[] {
    return applied.filter((e) => e.seq > plan.after && e.seq <= plan.upTo).sort((a, b) => b.seq - a.seq)
        .flatMap((e) => attemptOf(backups, e._id, "up", new Date(e.appliedAt)));
}

export async function restoreIn(db: Db, plan: RestorePlan): Promise<Restored[]> {
    const out: Restored[] = [];
    for (const b of backupsToRestore(await listBackups(db), await readChangelog(db), plan)) {
        const r = await restoreBackup(db, b._id);
        out.push({ backup: b._id, migration: b.migration, createdAt: new Date(b.createdAt).toISOString(), ...r });
    }
    return out;
}

export async function restoreReleaseBackups(cfg: NotesHubConfig, plan: RestorePlan): Promise<Restored[]> {
    const { MongoClient } = await import("mongodb");
    const relay = await openRelay(connect(cfg.docker), namesFor(cfg).of("db"), DB_PORT);
    const d = cfg.database;
    const client = new MongoClient(`mongodb://${encodeURIComponent(d.username)}:${encodeURIComponent(d.password)}@${relay.address}/${d.name}?authSource=admin&directConnection=true`, { serverSelectionTimeoutMS: 15_000 });
    try {
        return await restoreIn(client.db(d.name), plan);
    } finally {
        await client.close().catch(() => undefined);
        await relay.close();
    }
}
