// One operator command at a time per stack (issue #6): a second one is refused, naming the first, so two deploys or
// a deploy and a rollback never interleave their config writes and `pulumi up`s. The lock is a file created with
// O_EXCL beside the state; a holder that died (same host, process gone) is taken over, and Pulumi's own stack lock
// that its killed `pulumi up` left is cancelled by the caller.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface LockInfo {
    readonly pid: number;
    readonly host: string;
    readonly command: string;
    readonly startedAt: string;
}

export class BusyError extends Error {}

const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
};

export interface Lock {
    /** The holder this lock replaced because it had died (its `pulumi up` may have left Pulumi's lock behind). */
    readonly tookOver?: LockInfo;
    release(): void;
}

export function lockStack(dir: string, stack: string, command: string): Lock {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${stack}.lock`);
    const me: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
    let tookOver: LockInfo | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            const fd = openSync(file, "wx");
            writeSync(fd, JSON.stringify(me));
            closeSync(fd);
            return { tookOver, release: () => rmSync(file, { force: true }) };
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        let holder: LockInfo | undefined;
        try {
            holder = JSON.parse(readFileSync(file, "utf8")) as LockInfo;
        } catch {
            holder = undefined; // half-written by a holder killed mid-write: treat as dead
        }
        if (holder && (holder.host !== me.host || alive(holder.pid))) {
            throw new BusyError(`stack ${stack} is busy: \`noteshub ${holder.command}\` (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}) is running. Wait for it to finish; if it is gone from ${holder.host}, remove ${file}.`);
        }
        tookOver = holder ?? { pid: 0, host: me.host, command: "(unknown)", startedAt: "" };
        rmSync(file, { force: true });
    }
    throw new BusyError(`stack ${stack}: could not take the lock ${file}; another command took it first`);
}
