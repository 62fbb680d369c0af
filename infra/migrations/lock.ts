// The migration lock (issue #4): one document with a fixed _id, taken by an atomic insert (FerretDB v1 has no
// multi-document transactions, so nothing here relies on them). It carries its owner and an expiry, is renewed
// while a run lasts, and a lock left by a crashed run is taken over once it has expired (at once when the holder
// was a process on this host that no longer exists, e.g. a `pulumi up` killed with -9).
import { hostname } from "node:os";
import type { Collection, Db } from "mongodb";

export const LOCK_COLLECTION = "_migrations_lock";
const LOCK_ID = "migrations";

interface LockDoc {
    _id: string;
    owner: string;
    host: string;
    pid: number;
    acquiredAt: Date;
    expiresAt: Date;
}

export class LockHeldError extends Error {
    constructor(readonly holder: LockDoc) {
        super(`migrations are locked by ${holder.owner} (host ${holder.host}, pid ${holder.pid}) since ${holder.acquiredAt.toISOString()}; ` +
            `the lock expires at ${holder.expiresAt.toISOString()}. Wait for that run to finish; if it crashed, rerun after the expiry.`);
        this.name = "LockHeldError";
    }
}

export interface Lock {
    readonly owner: string;
    /** Stops renewing and deletes the lock (only if still ours). */
    release(): Promise<void>;
}

const isDuplicate = (err: unknown) => (err as { code?: number }).code === 11000;

/** A holder on this host whose process is gone (killed, crashed) can't finish: its lock needn't wait for expiry. */
function holderIsGone(held: LockDoc): boolean {
    if (held.host !== hostname() || held.pid === process.pid) return false;
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
    const mine: LockDoc = { _id: LOCK_ID, owner, host: hostname(), pid: process.pid, acquiredAt: now, expiresAt: new Date(now.getTime() + ttlMs) };
    try {
        await col.insertOne(mine);
    } catch (err) {
        if (!isDuplicate(err)) throw err;
        const held = await col.findOne({ _id: LOCK_ID });
        if (!held) return acquireLock(db, owner, ttlMs); // released in between: try again
        if (held.expiresAt.getTime() > Date.now() && !holderIsGone(held)) throw new LockHeldError(held);
        // Expired, or its process is gone: take it over, but only if nobody else did first (compare-and-swap on owner and expiry).
        const { _id, ...fields } = mine;
        const taken = await col.findOneAndUpdate({ _id, owner: held.owner, expiresAt: held.expiresAt }, { $set: fields }, { returnDocument: "after" });
        if (!taken || taken.owner !== owner) {
            const now2 = await col.findOne({ _id: LOCK_ID });
            throw new LockHeldError(now2 ?? held);
        }
    }
    const timer = setInterval(() => {
        void col.updateOne({ _id: LOCK_ID, owner }, { $set: { expiresAt: new Date(Date.now() + ttlMs) } }).catch(() => undefined);
    }, Math.max(100, Math.floor(ttlMs / 3)));
    timer.unref();
    return {
        owner,
        async release() {
            clearInterval(timer);
            await col.deleteOne({ _id: LOCK_ID, owner });
        },
    };
}
