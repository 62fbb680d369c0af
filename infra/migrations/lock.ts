// The migration lock (issue #4): one document with a fixed _id, taken by an atomic insert (FerretDB v1 has no
// multi-document transactions, so nothing here relies on them). It carries its owner, a token of this acquisition and
// an expiry, is renewed while a run lasts, and a lock left by a crashed run is taken over once it has expired (at once
// when the holder was a process in this very process namespace that no longer exists, e.g. a `pulumi up` killed -9).
//
// Fencing (issue #13): a runner paused past the expiry (a stopped laptop, a frozen CI runner) may find another runner
// took over. So it never acts on a lock it no longer holds: `check()` reads the document back and throws unless it
// still carries this acquisition's token, and the runner calls it before every command and before every record.
// A renewal that fails or finds the lock gone is remembered and stops the run at the next check. (The window left is
// one command: the commands touch the user's collections, which can't check a token themselves.)
import { randomUUID } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import type { Collection, Db } from "mongodb";

export const LOCK_COLLECTION = "_migrations_lock";
const LOCK_ID = "migrations";

interface LockDoc {
    _id: string;
    owner: string;
    host: string;
    pid: number;
    /**
     * Where `pid` means something: the kernel's boot and the process namespace. Two containers or CI runners can share
     * a host name, and a pid of one means nothing in the other.
     */
    ns?: string;
    /** This acquisition, and only it. */
    token?: string;
    acquiredAt: Date;
    expiresAt: Date;
}

export class LockHeldError extends Error {
    constructor(readonly holder: LockDoc) {
        const message = `migrations are locked by ${holder.owner} (host ${holder.host}, pid ${holder.pid}) since ${holder.acquiredAt.toISOString()}; ` +
            `the lock expires at ${holder.expiresAt.toISOString()}. Wait for that run to finish; if it crashed, rerun after the expiry.`;
        super(message);
        this.name = "LockHeldError";
        this.message = message; // set again: a dynamic provider's serialized class does not pass it to Error
    }
}

export class LockLostError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "LockLostError";
        this.message = message; // set again: a dynamic provider's serialized class does not pass it to Error
    }
}

export interface Lock {
    readonly owner: string;
    /** Throws LockLostError unless the lock is still this acquisition's (read back from the database). */
    check(): Promise<void>;
    /** Stops renewing and deletes the lock (only if still ours). */
    release(): Promise<void>;
}

/** The server's answer to an insert whose _id is taken. */
export const isDuplicate = (err: unknown) => (err as { code?: number }).code === 11000;

function readOr(read: () => string, fallback: string): string {
    try {
        return read().trim();
    } catch {
        return fallback;
    }
}

/** This process's namespace: the same boot of the same kernel, and the same pid namespace. */
export function processNamespace(): string {
    return `${readOr(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"), "unknown-boot")}/${readOr(() => readlinkSync("/proc/self/ns/pid"), "unknown-pidns")}`;
}

/** A holder in this process namespace whose process is gone (killed, crashed) can't finish: no need to wait. */
function holderIsGone(held: LockDoc): boolean {
    const ns = processNamespace();
    // Without /proc (not Linux) nothing says two processes share a namespace: a shared host name is no proof.
    if (ns.includes("unknown-") || held.host !== hostname() || held.ns !== ns || held.pid === process.pid) return false;
    try {
        process.kill(held.pid, 0);
        return false;
    } catch (err) {
        return (err as { code?: string }).code === "ESRCH";
    }
}

export async function acquireLock(db: Db, owner: string, ttlMs = 60_000): Promise<Lock> {
    const col: Collection<LockDoc> = db.collection<LockDoc>(LOCK_COLLECTION);
    const now = new Date();
    const token = randomUUID();
    const mine: LockDoc = { _id: LOCK_ID, owner, host: hostname(), pid: process.pid, ns: processNamespace(), token, acquiredAt: now, expiresAt: new Date(now.getTime() + ttlMs) };
    try {
        await col.insertOne(mine);
    } catch (err) {
        if (!isDuplicate(err)) throw err;
        const held = await col.findOne({ _id: LOCK_ID });
        if (!held) return acquireLock(db, owner, ttlMs); // released in between: try again
        if (held.expiresAt.getTime() > Date.now() && !holderIsGone(held)) throw new LockHeldError(held);
        // Expired, or its process is gone: take it over, but only if nobody else did first (compare-and-swap on
        // exactly the document read: its token, owner and expiry).
        const { _id, ...fields } = mine;
        const taken = await col.findOneAndUpdate({ _id, owner: held.owner, token: held.token ?? { $exists: false }, expiresAt: held.expiresAt } as never, { $set: fields }, { returnDocument: "after" });
        if (!taken || taken.token !== token) {
            const now2 = await col.findOne({ _id: LOCK_ID });
            throw new LockHeldError(now2 ?? held);
        }
    }
    let lost: string | undefined;
    const lose = (why: string) => {
        lost ??= why;
    };
    const timer = setInterval(() => {
        col.updateOne({ _id: LOCK_ID, token }, { $set: { expiresAt: new Date(Date.now() + ttlMs) } }).then(
            (r) => r.matchedCount === 0 && lose("the lock document no longer carries this run's token (another runner took it over after it expired)"),
            (err: Error) => lose(`renewing it failed: ${err.message}`),
        );
    }, Math.max(100, Math.floor(ttlMs / 3)));
    timer.unref();
    const stop = (why: string) => new LockLostError(`the migration lock of ${owner} was lost: ${why}. Nothing more was run or recorded by this run; ` +
        `check the changelog (_migrations) and rerun: the next run continues from what is recorded.`);
    return {
        owner,
        async check() {
            if (lost) throw stop(lost);
            let held: LockDoc | null;
            try {
                held = await col.findOne({ _id: LOCK_ID });
            } catch (err) {
                throw stop(`reading it back failed: ${(err as Error).message}`);
            }
            if (!held || held.token !== token) {
                lose(held ? `it is held by ${held.owner} (host ${held.host}, pid ${held.pid}) since ${held.acquiredAt.toISOString()}` : "its document is gone");
                throw stop(lost!);
            }
            if (held.expiresAt.getTime() <= Date.now()) {
                // Expired but nobody took it yet (this run was paused): renew it, unless another runner wins the
                // same compare-and-swap on token and expiry first.
                const renewed = await col.updateOne({ _id: LOCK_ID, token, expiresAt: held.expiresAt }, { $set: { expiresAt: new Date(Date.now() + ttlMs) } }).catch(() => null);
                if (!renewed || renewed.matchedCount === 0) {
                    lose(`it expired at ${held.expiresAt.toISOString()} while this run was paused, and another runner may hold it now`);
                    throw stop(lost!);
                }
            }
        },
        async release() {
            clearInterval(timer);
            await col.deleteOne({ _id: LOCK_ID, token });
        },
    };
}
