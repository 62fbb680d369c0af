// The database as the watcher sees it (runbook "Database Performance": query time, warn 100 ms, critical 500 ms
// average): one connection through the relay the migrations use (no published port), a small real query each
// probe. Connection setup is reported on its own: it includes the relay's docker exec, which no app pays per query.
import { DB_PORT } from "../../infra/components/database";
import type { NotesHubConfig } from "../../infra/config";
import { connect } from "../../infra/docker/engine";
import { openRelay, type Relay } from "../../infra/docker/relay";
import { namesFor } from "../../infra/names";

export interface DbProbe {
    readonly at: number;
    readonly ok: boolean;
    readonly queryMs?: number;
    readonly connectMs?: number;
    readonly error?: string;
}

export class DatabaseProbe {
    private relay?: Relay;
    private client?: import("mongodb").MongoClient;
    private connectMs?: number;

    constructor(private readonly cfg: NotesHubConfig) {}

    async probe(): Promise<DbProbe> {
        const at = Date.now();
        try {
            if (!this.client) await this.open();
            const t0 = performance.now();
            const db = this.client!.db(this.cfg.database.name);
            await db.collection("notes").find({}, { projection: { _id: 1 } }).limit(1).toArray();
            return { at, ok: true, queryMs: performance.now() - t0, connectMs: this.connectMs };
        } catch (err) {
            await this.close(); // reconnect next time
            return { at, ok: false, error: (err as Error).message.split("\n")[0] };
        }
    }

    /** The database itself, on this probe's connection (the drill counts documents with it). */
    async database(): Promise<import("mongodb").Db> {
        if (!this.client) await this.open();
        return this.client!.db(this.cfg.database.name);
    }

    private async open(): Promise<void> {
        const { MongoClient } = await import("mongodb");
        const t0 = performance.now();
        this.relay = await openRelay(connect(this.cfg.docker), namesFor(this.cfg).of("db"), DB_PORT);
        const d = this.cfg.database;
        this.client = new MongoClient(`mongodb://${encodeURIComponent(d.username)}:${encodeURIComponent(d.password)}@${this.relay.address}/${d.name}?authSource=admin&directConnection=true`, {
            serverSelectionTimeoutMS: 3000, connectTimeoutMS: 3000, socketTimeoutMS: 5000, maxPoolSize: 1,
        });
        await this.client.connect();
        this.connectMs = performance.now() - t0;
    }

    async close(): Promise<void> {
        await this.client?.close().catch(() => undefined);
        await this.relay?.close().catch(() => undefined);
        this.client = undefined;
        this.relay = undefined;
    }
}
