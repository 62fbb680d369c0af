// Runs a migration plan against the database (runbook "Database Migration Rollback"): under the lock, checks that no
// applied migration changed since (tamper), then runs ups in order or downs newest first. Each step is recorded in the
// changelog (_migrations) only after all its commands succeeded, with its down, so a down can run even when the
// program no longer contains the migration. A failure names the migration, the command and the server's answer.
//
// Issue #13: the lock is checked before every command and every record (a runner that lost it stops); each command
// done is recorded in _migrations_progress, so a rerun after a failure or a crash continues after the last command
// recorded (at most the one command running at the crash is repeated) instead of repeating the whole step; a down
// read from the database runs only when it is one the operator's side knows (Pulumi state or migrations/).
import { createHash, randomUUID } from "node:crypto";
import type { Db } from "mongodb";
import { backupBefore, latestAttempt, restoreBackup } from "./backup";
import { acquireLock, LockLostError, type Lock } from "./lock";
import { evaluate, type Migration, type Script } from "./load";
import { planSteps, type Step } from "./plan";

export const CHANGELOG = "_migrations";
export const PROGRESS = "_migrations_progress";

/** A step under way: the commands done so far (their digests), and the backup taken before the first. */
interface Progress {
    _id: string;
    migration: string;
    direction: "up" | "down";
    done: string[];
    /** The attempt every backup of this step belongs to (backup.ts). */
    attempt: string;
    runBy: string;
    startedAt: Date;
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const commandDigest = (cmd: unknown) => sha(JSON.stringify(cmd));
/** JSON with every object's keys sorted: the same value from the file, the changelog or Pulumi state (which sorts them). */
function canonical(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
    return JSON.stringify(v ?? null);
}
/** What a script runs (its commands or code), whatever its file name, description or key order. */
export const scriptDigest = (s: Script) => sha(canonical([s.code ?? null, s.commands ?? []]));

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
    /**
     * The downs Pulumi state recorded when their ups ran. With the program's own files, they are what a down read
     * from the database is checked against: the changelog can be written by anyone with the app's credentials.
     */
    readonly downs?: Record<string, Script>;
    readonly lockTtlMs?: number;
}

export interface RunResult {
    readonly steps: Step[];
    readonly applied: ChangelogEntry[];
}

export class MigrationError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "MigrationError";
        this.message = message; // set again: a dynamic provider's serialized class does not pass it to Error
    }
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
    const backups = await latestAttempt(db, id, direction);
    if (!backups.length) throw new Error(`no backup of migration ${id} (${direction}) to restore; see the _backups collection`);
    // Newest first, so what the first command found is what stays.
    for (const b of backups) await restoreBackup(db, b._id, { undo: true });
}

async function runScript(db: Db, lock: Lock, id: string, direction: "up" | "down", script: Script, runBy: string): Promise<void> {
    const progress = db.collection<Progress>(PROGRESS);
    const key = `${id}:${direction}`;
    let state = await progress.findOne({ _id: key });
    if (!state) {
        state = { _id: key, migration: id, direction, done: [], attempt: randomUUID(), runBy, startedAt: new Date() };
        await lock.check();
        await progress.insertOne(state);
    }
    if (script.code !== undefined) {
        // Code is one call: it can't be resumed halfway, so it must be safe to rerun (migrations/README.md). Its
        // backup is taken once per attempt: a rerun must not replace it with the half-migrated data.
        if (state.done.length === 0) {
            await lock.check();
            await backupBefore(db, id, direction, script, runBy, state.attempt);
            await lock.check();
            await progress.updateOne({ _id: key }, { $push: { done: "backup" } });
        }
        await lock.check();
        try {
            await (evaluate(script.code)[direction] as (db: Db) => Promise<unknown>)(db);
        } catch (err) {
            throw new MigrationError(`migration ${id} (${direction}) failed in migrations/${script.file}: ${(err as Error).message}\n` +
                `  -> it was not recorded as ${direction === "up" ? "applied" : "rolled back"} and the lock was released; fix it and run again: the code runs again from its start (make it safe to rerun).`);
        }
        return;
    }
    const digests = script.commands.map(commandDigest);
    if (state.done.some((d, i) => d !== digests[i])) {
        throw new MigrationError(`migration ${id} (${direction}): an earlier run did ${state.done.length} of its commands (${state.runBy}, ${state.startedAt.toISOString()}), and migrations/${script.file} no longer starts with them. ` +
            `Restore those commands in the file, or undo them by hand and delete {_id: "${key}"} from ${PROGRESS}; then run again.`);
    }
    for (let i = state.done.length; i < script.commands.length; i++) {
        const cmd = script.commands[i];
        try {
            // What this command removes or rewrites is saved first, as it finds the data; nothing runs if that fails.
            await lock.check();
            await backupBefore(db, id, direction, { ...script, commands: [cmd] }, runBy, state.attempt);
            await lock.check();
            if (typeof cmd[RESTORE] === "string") await restoreFrom(db, id, cmd[RESTORE] as string);
            else if (typeof cmd.renameCollection === "string") await db.admin().command(cmd); // MongoDB runs it on admin
            else await db.command(cmd);
        } catch (err) {
            if (err instanceof LockLostError) throw err;
            const e = err as { message?: string; codeName?: string };
            const before = i === 0 ? "no command of it was done" : `commands 1-${i} are done and recorded`;
            throw new MigrationError(`migration ${id} (${direction}) failed at command ${i + 1} of ${script.commands.length}: ${JSON.stringify(cmd).slice(0, 300)}\n` +
                `  server said: ${e.message ?? String(err)}${e.codeName ? ` (${e.codeName})` : ""}\n` +
                `  -> it was not recorded as ${direction === "up" ? "applied" : "rolled back"} (${before}) and the lock was released; fix migrations/${script.file} and run again: it continues at command ${i + 1}.`);
        }
        await lock.check();
        await progress.updateOne({ _id: key }, { $push: { done: digests[i] } });
    }
}

/** The down to run for an applied migration: the one its up recorded, once the operator's side vouches for it. */
function downFor(entry: ChangelogEntry, opts: RunOptions): Script {
    const trusted = [opts.migrations.find((x) => x.id === entry._id)?.down, opts.downs?.[entry._id]].filter((d): d is Script => !!d);
    if (!entry.downScript) {
        if (trusted.length) return trusted[0];
        throw new MigrationError(`migration ${entry._id} has no down-migration, in the changelog or in migrations/: it cannot be rolled back automatically.`);
    }
    let stored: Script;
    try {
        stored = JSON.parse(entry.downScript) as Script;
    } catch {
        stored = { file: "?", description: "", commands: [], code: entry.downScript, checksum: "" };
    }
    // The database's copy keeps the file's key order (a command's name comes first): run it when it is the same.
    if (trusted.some((t) => scriptDigest(t) === scriptDigest(stored))) return stored;
    // The same file (its checksum) compiled by another TypeScript: the copy from this side runs, never the database's.
    const sameFile = trusted.find((t) => t.checksum && t.checksum === stored.checksum);
    if (sameFile) return sameFile;
    const known = trusted.length ? "differs from the one Pulumi state recorded when its up ran and from migrations/" : "is known neither to Pulumi state nor to migrations/";
    throw new MigrationError(`migration ${entry._id}: the down stored in the database (${CHANGELOG}.downScript, digest ${scriptDigest(stored).slice(0, 12)}) ${known}, so it is not run: ` +
        `anyone who can write that collection could put code there. Restore migrations/${stored.file !== "?" ? stored.file : `${entry._id}.down.*`} from the release that applied it and run again.`);
}

/**
 * Progress of any step this run does not take: one recorded (up) or removed (down) before its progress was (done),
 * or one an earlier run left half-way and the target no longer asks for (it would otherwise skip commands, months
 * later, that are needed again then).
 */
async function dropOthers(db: Db, steps: Step[]): Promise<void> {
    await db.collection<Progress>(PROGRESS).deleteMany({ _id: { $nin: steps.map((st) => `${st.id}:${st.direction}`) } });
}

export async function migrate(db: Db, opts: RunOptions): Promise<RunResult> {
    const lock = await acquireLock(db, opts.runBy, opts.lockTtlMs);
    try {
        const applied = await readChangelog(db);
        checkTamper(applied, opts.migrations);
        const steps = planSteps(applied.map((a) => a._id), opts.migrations.map((m) => m.id), opts.target);
        await dropOthers(db, steps);
        for (const step of steps) {
            await runStep(db, lock, step, applied, opts).catch((err: unknown) => {
                // Which migration was under way is the first thing the operator needs (the database may have gone away).
                throw err instanceof LockLostError ? new LockLostError(`migration ${step.id} (${step.direction}) stopped: ${err.message}`) : err;
            });
        }
        return { steps, applied: await readChangelog(db) };
    } finally {
        // If the database went away, the release fails too: keep the real error; the lock then expires.
        await lock.release().catch(() => undefined);
    }
}

async function runStep(db: Db, lock: Lock, step: Step, applied: ChangelogEntry[], opts: RunOptions): Promise<void> {
    const changelog = db.collection<ChangelogEntry>(CHANGELOG);
    const started = Date.now();
    if (step.direction === "up") {
        const m = opts.migrations.find((x) => x.id === step.id)!;
        await runScript(db, lock, m.id, "up", m.up, opts.runBy);
        await lock.check();
        await changelog.insertOne({
            _id: m.id, seq: m.seq, checksumUp: m.up.checksum, checksumDown: m.down?.checksum ?? null, downScript: m.down ? JSON.stringify(m.down) : null,
            appliedAt: new Date(), appliedBy: opts.runBy, durationMs: Date.now() - started,
        });
    } else {
        const entry = applied.find((a) => a._id === step.id)!;
        await runScript(db, lock, step.id, "down", downFor(entry, opts), opts.runBy);
        await lock.check();
        await changelog.deleteOne({ _id: step.id });
    }
    await db.collection<Progress>(PROGRESS).deleteOne({ _id: `${step.id}:${step.direction}` });
}
