// The noteshub command lock in the state's S3 bucket (issue #14), so two operators on two machines cannot interleave
// their commands on one stack. One object per stack, created only if absent (`If-None-Match: *`): exactly one
// creator wins. A holder renews it as a lease; another machine cannot see whether a process is alive, so a lock
// not renewed for LEASE_SEC is a dead holder's, replaced only by the one process whose `If-Match` on exactly that
// version succeeds. A holder whose lease was taken says so when it lets go (it was stopped for longer than the lease).
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { alive, BusyError, type Lock, type LockInfo } from "./lock";
import type { S3 } from "./s3";

/** A holder that has not renewed for this long is taken for dead. */
export const LEASE_SEC = 60;
const RENEW_MS = 15_000;

interface Held extends LockInfo {
    readonly who: string;
    readonly renewedAt: string;
    readonly token: string;
}

/** Whether a holder is gone: its lease ran out, or it was a process of this machine that no longer exists. */
export function holderDead(h: Held | undefined, now: number, me: { host: string }, leaseSec = LEASE_SEC): boolean {
    if (!h || typeof h.renewedAt !== "string") return true; // unreadable: nobody can ever release it
    if (h.host === me.host && !alive(h.pid)) return true;
    return now - Date.parse(h.renewedAt) > leaseSec * 1000;
}

const parse = (body: string): Held | undefined => {
    try {
        return JSON.parse(body) as Held;
    } catch {
        return undefined;
    }
};

export interface S3LockOptions {
    readonly who: string;
    /** Where it lives, for messages (bucket/key). */
    readonly where: string;
    readonly leaseSec?: number;
    readonly renewMs?: number;
    /** Told when a renewal finds the lease taken by someone else. */
    readonly onLost?: (by: Held | undefined) => void;
}

export async function lockStackS3(s3: S3, key: string, stack: string, command: string, o: S3LockOptions): Promise<Lock> {
    const host = hostname();
    const token = randomUUID();
    const mine = (): Held => ({ pid: process.pid, host, who: o.who, command, startedAt, renewedAt: new Date().toISOString(), token });
    const startedAt = new Date().toISOString();
    const leaseSec = o.leaseSec ?? LEASE_SEC;
    const busy = (h: Held) =>
        new BusyError(
            `stack ${stack} is busy: \`noteshub ${h.command}\` (${h.who ?? h.host}, pid ${h.pid} on ${h.host}, started ${h.startedAt}, lease renewed ${h.renewedAt}) is running. Wait for it to finish; a holder that died is taken over ${leaseSec} s after its last renewal (the lock is ${o.where}).`,
        );
    for (let attempt = 0; attempt < 5; attempt++) {
        let etag = await s3.put(key, JSON.stringify(mine()), { ifNoneMatch: "*" });
        let tookOver: Held | undefined;
        if (etag === undefined) {
            const current = await s3.get(key);
            if (!current) continue; // released meanwhile
            const h = parse(current.body);
            if (!holderDead(h, Date.now(), { host }, leaseSec)) throw busy(h!);
            etag = await s3.put(key, JSON.stringify(mine()), { ifMatch: current.etag });
            if (etag === undefined) continue; // another process took it over first, or its holder renewed: look again
            tookOver = h ?? { pid: 0, host: "?", who: "?", command: "(unreadable lock)", startedAt: "", renewedAt: "", token: "" };
        }
        return held(s3, key, etag, mine, o, tookOver);
    }
    throw new BusyError(`stack ${stack}: could not take the lock ${o.where}; other commands keep taking it`);
}

function held(s3: S3, key: string, first: string, mine: () => Held, o: S3LockOptions, tookOver: Held | undefined): Lock {
    let etag = first;
    let lost = false;
    let renewing: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
        renewing = renewing.then(async () => {
            if (lost) return;
            try {
                const next = await s3.put(key, JSON.stringify(mine()), { ifMatch: etag });
                if (next !== undefined) etag = next;
                else {
                    lost = true;
                    const now = await s3.get(key).catch(() => undefined);
                    o.onLost?.(now ? parse(now.body) : undefined);
                }
            } catch {
                // A failed renewal is retried at the next tick; the lease covers several.
            }
        });
    }, o.renewMs ?? RENEW_MS);
    timer.unref();
    return {
        tookOver,
        async release() {
            clearInterval(timer);
            await renewing;
            if (lost) return;
            // Deleted only while it is still ours (compare, then delete that version where the server can tell).
            const now = await s3.get(key);
            if (now && now.etag === etag) await s3.remove(key, etag);
        },
    };
}
