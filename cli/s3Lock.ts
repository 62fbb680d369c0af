// The noteshub command lock in the state's S3 bucket (issue #14), so two operators on two machines cannot interleave
// their commands on one stack. One object per stack, created only if absent (`If-None-Match: *`): exactly one
// creator wins. A holder renews it as a lease; another machine cannot see whether a process is alive, so a lock
// not renewed for LEASE_SEC is a dead holder's, replaced only by the one process whose `If-Match` on exactly that
// version succeeds. A holder that finds its lease taken (it was stopped for longer than the lease) says so, runs no
// further step, and neither renews nor releases the new holder's lock.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
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
    /** This machine's id (two machines may share a host name): a pid is checked only on its own machine. */
    readonly machine?: string;
}

/** /etc/machine-id where there is one, else the host name. */
export function machineId(): string {
    try {
        return readFileSync("/etc/machine-id", "utf8").trim() || hostname();
    } catch {
        return hostname();
    }
}

/**
 * Whether a holder is gone: it was a process of this machine that no longer exists (provably dead), or its lease ran
 * out: not renewed for leaseSec by the server's clock (`ageSec`, so operators' clocks don't matter).
 */
export function holderDead(h: Held | undefined, ageSec: number, me: { machine: string; host: string }, leaseSec = LEASE_SEC): "alive" | "exited" | "expired" {
    if (!h || typeof h.token !== "string") return "expired"; // unreadable: nobody can ever release it
    // Both must match: containers built from one image can share a machine id, machines can share a host name.
    if (h.machine === me.machine && h.host === me.host && !alive(h.pid)) return "exited";
    return ageSec > leaseSec ? "expired" : "alive";
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
    const machine = machineId();
    const token = randomUUID();
    const mine = (): Held => ({ pid: process.pid, host, machine, who: o.who, command, startedAt, renewedAt: new Date().toISOString(), token });
    const startedAt = new Date().toISOString();
    const leaseSec = o.leaseSec ?? LEASE_SEC;
    const busy = (h: Held) =>
        new BusyError(
            `stack ${stack} is busy: \`noteshub ${h.command}\` (${h.who ?? h.host}, pid ${h.pid} on ${h.host}, started ${h.startedAt}, lease renewed ${h.renewedAt}) is running. Wait for it to finish; a holder that died is taken over ${leaseSec} s after its last renewal (the lock is ${o.where}).`,
        );
    for (let attempt = 0; attempt < 5; attempt++) {
        let etag = await s3.put(key, JSON.stringify(mine()), { ifNoneMatch: "*" });
        let tookOver: (Held & { exited: boolean }) | undefined;
        if (etag === undefined) {
            const current = await s3.get(key);
            if (!current) continue; // released meanwhile
            const h = parse(current.body);
            const state = holderDead(h, current.ageSec, { machine, host }, leaseSec);
            if (state === "alive") throw busy(h!);
            etag = await s3.put(key, JSON.stringify(mine()), { ifMatch: current.etag });
            if (etag === undefined) continue; // another process took it over first, or its holder renewed: look again
            tookOver = { ...(h ?? { pid: 0, host: "?", who: "?", command: "(unreadable lock)", startedAt: "", renewedAt: "", token: "" }), exited: state === "exited" };
        }
        return held(s3, key, etag, mine, token, o, tookOver);
    }
    throw new BusyError(`stack ${stack}: could not take the lock ${o.where}; other commands keep taking it`);
}

function held(s3: S3, key: string, first: string, mine: () => Held, token: string, o: S3LockOptions, tookOver: (Held & { exited: boolean }) | undefined): Lock {
    let etag = first;
    let lost = false;
    let renewing: Promise<void> = Promise.resolve();
    const renew = async () => {
        try {
            const next = await s3.put(key, JSON.stringify(mine()), { ifMatch: etag });
            if (next !== undefined) {
                etag = next;
                return;
            }
        } catch {
            // No answer (or a server error): what is there now decides, below.
        }
        // The condition failed or the answer was lost: still ours if the object holds our token (a renewal that
        // reached the server but whose answer did not reach us), and then its etag is ours.
        const now = await s3.get(key).catch(() => "unknown" as const);
        if (now === "unknown") return; // retried at the next tick; the lease covers several
        const h = now ? parse(now.body) : undefined;
        if (now && h?.token === token) {
            etag = now.etag;
            return;
        }
        lost = true;
        o.onLost?.(h);
    };
    const timer = setInterval(() => {
        renewing = renewing.then(() => (lost ? undefined : renew()));
    }, o.renewMs ?? RENEW_MS);
    timer.unref();
    return {
        tookOver,
        lost: () => lost,
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
