// One operator command at a time per stack (issue #6): a second one is refused, naming the first, so two deploys or
// a deploy and a rollback never interleave their config writes and `pulumi up`s. The lock is a file beside the state;
// a holder that died (same host, process gone) is taken over, and Pulumi's own stack lock that its killed `pulumi up`
// left is cancelled by the caller.
// Exclusive under a real race (issue #13): a lock file appears with its whole content or not at all (written aside,
// then hard-linked into place), and a dead holder's file is replaced only by the one process that claimed exactly that
// file (a claim named by its inode), never deleted by whoever happens to look.
import { randomUUID } from "node:crypto";
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface LockInfo {
    readonly pid: number;
    readonly host: string;
    readonly command: string;
    readonly startedAt: string;
}

export class BusyError extends Error {}

/** Whether a process of this machine exists (EPERM: it does, as another user's). */
export const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
};
const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

export interface Lock {
    /** The holder this lock replaced because it had died (its `pulumi up` may have left Pulumi's lock behind). */
    readonly tookOver?: LockInfo & { readonly exited?: boolean };
    /** True once another command took the lock over (a lease that ran out while this one was stopped). */
    lost?(): boolean;
    release(): void | Promise<void>;
}

/** A file beside `file` with `text` in it, written whole and never seen half-done; returns its path and inode. */
function aside(file: string, text: string): { path: string; ino: number } {
    const path = `${file}.${process.pid}.${randomUUID()}.tmp`;
    writeFileSync(path, text, { flag: "wx" });
    return { path, ino: statSync(path).ino };
}

/** Creates `file` with `text`, atomically: it appears whole, or (EEXIST) not at all. Its inode, or undefined. */
function createWhole(file: string, text: string): number | undefined {
    const tmp = aside(file, text);
    try {
        linkSync(tmp.path, file);
        return tmp.ino;
    } catch (err) {
        if (codeOf(err) === "EEXIST") return undefined;
        throw err;
    } finally {
        rmSync(tmp.path, { force: true });
    }
}

/** The lock as it is now: its holder (undefined: unreadable, e.g. left half-written by an older version) and inode. */
function readLock(file: string): { holder?: LockInfo; ino: number } | undefined {
    let fd: number;
    try {
        fd = openSync(file, "r");
    } catch (err) {
        if (codeOf(err) === "ENOENT") return undefined;
        throw err;
    }
    try {
        const ino = fstatSync(fd).ino;
        try {
            return { holder: JSON.parse(readFileSync(fd, "utf8")) as LockInfo, ino };
        } catch {
            return { ino };
        }
    } finally {
        closeSync(fd);
    }
}

/** Removes `file` only while it is still inode `ino` (moved aside atomically, put back if it had changed). */
function removeIfStill(file: string, ino: number): void {
    const moved = `${file}.${process.pid}.${randomUUID()}.gone`;
    try {
        renameSync(file, moved);
    } catch (err) {
        if (codeOf(err) === "ENOENT") return;
        throw err;
    }
    try {
        if (statSync(moved).ino !== ino) linkSync(moved, file); // someone else's lock: put it back as it was
    } catch (err) {
        if (codeOf(err) !== "EEXIST") throw err;
    } finally {
        rmSync(moved, { force: true });
    }
}

const dead = (h: LockInfo | undefined, me: LockInfo) => !h || (h.host === me.host && !alive(h.pid));
const busy = (stack: string, file: string, h: LockInfo) =>
    new BusyError(`stack ${stack} is busy: \`noteshub ${h.command}\` (pid ${h.pid} on ${h.host}, started ${h.startedAt}) is running. Wait for it to finish; if it is gone from ${h.host}, remove ${file}.`);

export function lockStack(dir: string, stack: string, command: string): Lock {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${stack}.lock`);
    const me: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
    const text = JSON.stringify(me);
    for (let attempt = 0; attempt < 5; attempt++) {
        const ino = createWhole(file, text);
        if (ino !== undefined) return { release: () => removeIfStill(file, ino) };
        const current = readLock(file);
        if (!current) continue; // released meanwhile: try again
        if (!dead(current.holder, me)) throw busy(stack, file, current.holder!);
        // A dead holder's lock: only the process that claims exactly this file (by its inode) may replace it.
        const claim = `${file}.takeover-${current.ino}`;
        const claimIno = createWhole(claim, text);
        if (claimIno === undefined) {
            const other = readLock(claim)?.holder;
            if (other && !dead(other, me)) throw busy(stack, file, other);
            removeIfStill(claim, readLock(claim)?.ino ?? -1); // a claimant that died mid-takeover
            continue;
        }
        try {
            const still = readLock(file);
            if (still?.ino !== current.ino) continue; // replaced meanwhile (it can only have been released)
            const mine = aside(file, text);
            renameSync(mine.path, file); // one atomic swap: the dead holder's file for ours
            return { tookOver: current.holder ?? { pid: 0, host: me.host, command: "(unknown)", startedAt: "" }, release: () => removeIfStill(file, mine.ino) };
        } finally {
            removeIfStill(claim, claimIno);
        }
    }
    throw new BusyError(`stack ${stack}: could not take the lock ${file}; other commands keep taking it`);
}
