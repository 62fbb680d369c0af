// Runs a migration plan against the database (runbook "Database Migration Rollback"): under the lock, checks that no
// applied migration changed since (tamper), then runs ups in order or downs newest first. Each step is recorded in the
// changelog (_migrations) only after all its commands succeeded, with its down, so a down can run even when the
// program no longer contains the migration. A failure names the migration, the command and the server's answer.
import type { Db } from "mongodb";
import { backupBefore, latestBackup, restoreBackup } from "./backup";
import { acquireLock } from "./lock";
import { evaluate, type Migration, type Script } from "./load";
import { planSteps, type Step } from "./plan";

export const CHANGELOG = "_migrations";

export interface ChangelogEntry {
    _id: string;
    seq: number;
    checksumUp: string;
    checksumDown: string | null;
    /** The down as it was when the up ran, as JSON text (stored documents can't have $-keys): what a rollback runs. */
    downScript: string | null;
    appliedAt: Date;
    /** Who applied it (stack and run). */
    appliedBy: string;
    durationMs: number;
}

export interface RunOptions {
    readonly migrations: Migration[];
    /** Highest migration number the running versions need. */
    readonly target: number;
    /** Lock owner and changelog author, e.g. "noteshub-staging run 2026-11-30T10:00Z". */
    readonly runBy: string;
    /** Downs kept elsewhere (the resource's state), used when neither the changelog nor the program has one. */
    readonly downs?: Record<string, Script>;
    readonly lockTtlMs?: number;
}

export interface RunResult {
    readonly steps: Step[];
    readonly applied: ChangelogEntry[];
}

export class MigrationError extends Error {
    override name = "MigrationError";
}

export async function readChangelog(db: Db): Promise<ChangelogEntry[]> {
    return db.collection<ChangelogEntry>(CHANGELOG).find({}).sort({ seq: 1 }).toArray();
}

function checkTamper(applied: ChangelogEntry[], migrations: Migration[]): void {
    for (const entry of applied) {
        const m = migrations.find((x) => x.id === entry._id);
        if (m && m.up.checksum !== entry.checksumUp) {
            throw new MigrationError(`migration ${entry._id}: migrations/${m.up.file} changed after it was applied on ${entry.appliedAt.toISOString()} by ${entry.appliedBy} ` +
                `(checksum ${entry.checksumUp.slice(0, 12)} then, ${m.up.checksum.slice(0, 12)} now). An applied migration is never rerun: restore the file, or write a new migration for the change.`);
        }
    }
}

/**
 * A down that undoes a contracting up writes `{"noteshubRestoreBackup": "up"}`: it puts back what the up removed,
 * from the backup taken before it ran (backup.ts).
 */
const RESTORE = "noteshubRestoreBackup";

async function restoreFrom(db: Db, id: string, direction: string): Promise<void> {
    if (direction !== "up" && direction !== "down") throw new Error(`${RESTORE} must be "up" or "down", got ${JSON.stringify(direction)}`);
    const backup = await latestBackup(db, id, direction);
    if (!backup) throw new Error(`no backup of migration ${id} (${direction}) to restore; see the _backups collection`);
    await restoreBackup(db, backup._id);
}

async function runScript(db: Db, id: string, direction: "up" | "down", script: Script, runBy: string): Promise<void> {
    // A step that removes or rewrites data saves it first (backup.ts); nothing runs if the backup fails.
    await backupBefore(db, id, direction, script, runBy);
    if (script.code !== undefined) {
        try {
            await (evaluate(script.code)[direction] as (db: Db) => Promise<unknown>)(db);
        } catch (err) {
            throw new MigrationError(`migration ${id} (${direction}) failed in migrations/${script.file}: ${(err as Error).message}\n` +
                `  -> it was not recorded as ${direction === "up" ? "applied" : "rolled back"} and the lock was released; fix it and run again (make the code safe to rerun).`);
        }
        return;
    }
    for (const [i, cmd] of script.commands.entries()) {
        try {
            if (typeof cmd[RESTORE] === "string") {
                await restoreFrom(db, id, cmd[RESTORE] as string);
                continue;
            }
            await db.command(cmd);
        } catch (err) {
            const e = err as { message?: string; codeName?: string };
            throw new MigrationError(`migration ${id} (${direction}) failed at command ${i + 1} of ${script.commands.length}: ${JSON.stringify(cmd).slice(0, 300)}\n` +
                `  server said: ${e.message ?? String(err)}${e.codeName ? ` (${e.codeName})` : ""}\n` +
                `  -> it was not recorded as applied and the lock was released; fix migrations/${script.file} and run again: it continues from here.`);
        }
    }
}

export async function migrate(db: Db, opts: RunOptions): Promise<RunResult> {
    const lock = await acquireLock(db, opts.runBy, opts.lockTtlMs);
    try {
        const changelog = db.collection<ChangelogEntry>(CHANGELOG);
        const applied = await readChangelog(db);
        checkTamper(applied, opts.migrations);
        const steps = planSteps(applied.map((a) => a._id), opts.migrations.map((m) => m.id), opts.target);
        for (const step of steps) {
            const started = Date.now();
            if (step.direction === "up") {
                const m = opts.migrations.find((x) => x.id === step.id)!;
                await runScript(db, m.id, "up", m.up, opts.runBy);
                await changelog.insertOne({
                    _id: m.id, seq: m.seq, checksumUp: m.up.checksum, checksumDown: m.down?.checksum ?? null, downScript: m.down ? JSON.stringify(m.down) : null,
                    appliedAt: new Date(), appliedBy: opts.runBy, durationMs: Date.now() - started,
                });
            } else {
                const entry = applied.find((a) => a._id === step.id)!;
                const down: Script | undefined = entry.downScript ? JSON.parse(entry.downScript) : opts.migrations.find((x) => x.id === step.id)?.down ?? opts.downs?.[step.id];
                if (!down) throw new MigrationError(`migration ${step.id} has no down-migration, in the changelog or in migrations/: it cannot be rolled back automatically.`);
                await runScript(db, step.id, "down", down, opts.runBy);
                await changelog.deleteOne({ _id: step.id });
            }
        }
        return { steps, applied: await readChangelog(db) };
    } finally {
        // If the database went away, the release fails too: keep the real error; the lock then expires.
        await lock.release().catch(() => undefined);
    }
}
