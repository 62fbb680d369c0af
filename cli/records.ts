// Where a stack's noteshub records live: its command lock and its deployment log, beside the Pulumi state
// (cli/backend.ts). The file backend keeps them on this machine, as before; the S3 backend keeps them in the same
// bucket, so everyone on the rota sees one lock and one log per stack, whichever clone they run from.
import { hostname } from "node:os";
import { join } from "node:path";
import { type Backend, describeBackend } from "./backend";
import { lockStack, type Lock } from "./lock";
import { appendLog, logFile, parseLog, readLog, type LogEntry } from "./log";
import { s3Client, type S3 } from "./s3";
import { holderDead, lockStackS3, machineId } from "./s3Lock";

export interface StackRecords {
    /** Where they are, in words. */
    readonly where: string;
    /** This machine's directory for what a command writes for its operator (drill reports). */
    readonly localDir: string;
    /** Takes the stack's command lock, or throws BusyError naming who has it. */
    lock(command: string): Promise<Lock>;
    /** Adds an entry to the deployment log (in order; written by flush at the latest). */
    append(entry: Omit<LogEntry, "time">): void;
    /** Waits until every appended entry is written; throws the first failure. */
    flush(): Promise<void>;
    /** The deployment log, oldest first. */
    read(): Promise<LogEntry[]>;
    /** Whether a command holds the stack's lock now (S3 only: a file backend's lock is this machine's). */
    held(): Promise<boolean>;
}

/** The prefix of noteshub's objects in a state bucket (Pulumi's own are under .pulumi/). */
export const S3_PREFIX = ".noteshub";

export function recordsFor(backend: Backend, stack: string, who: () => string, say: (text: string) => void, env: NodeJS.ProcessEnv = process.env): StackRecords {
    if (backend.kind === "file") {
        const file = logFile(backend.dir, stack);
        const lockDir = env.NOTESHUB_LOCK_DIR ?? join(backend.dir, "locks");
        return {
            where: file,
            localDir: backend.dir,
            lock: async (command) => lockStack(lockDir, stack, command),
            append: (entry) => void appendLog(file, entry),
            flush: async () => undefined,
            read: async () => readLog(file),
            held: async () => false,
        };
    }
    let client: S3 | undefined;
    const s3 = () => (client ??= s3Client(backend, env));
    // `org/project/stack` and `stack` are one stack in a DIY backend: one lock and one log.
    const name = stack.split("/").pop()!;
    const lockKey = `${S3_PREFIX}/locks/${name}.json`;
    const logKey = `${S3_PREFIX}/log/${name}.jsonl`;
    let pending: Promise<void> = Promise.resolve();
    let failed: Error | undefined;
    return {
        where: `${describeBackend(backend)}/${logKey}`,
        localDir: join(env.HOME ?? ".", ".noteshub-deploy"),
        lock: (command) =>
            lockStackS3(s3(), lockKey, stack, command, {
                who: who(),
                where: `${describeBackend(backend)}/${lockKey}`,
                onLost: (by) => say(`WARNING: the stack lock was taken over${by ? ` by \`noteshub ${by.command}\` (${by.who})` : ""}: this command was stopped for longer than the lock's lease`),
            }),
        append: (entry) => {
            const full: LogEntry = { time: new Date().toISOString(), ...entry };
            pending = pending.then(() => appendS3(s3(), logKey, JSON.stringify(full) + "\n")).catch((err) => {
                failed ??= err as Error;
            });
        },
        flush: async () => {
            await pending;
            if (failed) throw failed;
        },
        read: async () => {
            await pending;
            return parseLog((await s3().get(logKey))?.body ?? "");
        },
        held: async () => {
            const now = await s3().get(lockKey);
            if (!now) return false;
            try {
                return holderDead(JSON.parse(now.body), now.ageSec, { machine: machineId(), host: hostname() }) === "alive";
            } catch {
                return false;
            }
        },
    };
}

/** Appends a line to an object: read, then write only if nobody wrote since (retried when someone did). */
async function appendS3(s3: S3, key: string, line: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
        const now = await s3.get(key);
        const etag = await s3.put(key, (now?.body ?? "") + line, now ? { ifMatch: now.etag } : { ifNoneMatch: "*" });
        if (etag !== undefined) return;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
    throw new Error(`the deployment log ${key} kept changing under 20 appends in a row`);
}
