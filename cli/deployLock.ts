// noteshub lock --reason "incident 42" (issue #17, like kamal's `lock -m`): deploys are refused until someone unlocks;
// rollbacks never are (they are how an incident ends). The lock is two events in the deployment log, which lives
// beside the state: with shared state the whole rota sees it, whichever clone they run from, and the log keeps who
// locked and unlocked, when and why.
import { BusyError } from "./lock";
import type { LogEntry } from "./log";

export interface DeployLock {
    readonly who: string;
    readonly reason: string;
    /** When it was locked (ISO time). */
    readonly since: string;
}

/** The deploy lock the log ends in: the last `locked` with no `unlocked` after it. */
export function deployLockOf(log: readonly LogEntry[]): DeployLock | undefined {
    let lock: DeployLock | undefined;
    for (const e of log) {
        if (e.event === "locked" && e.ok) lock = { who: e.who, reason: e.why, since: e.time };
        else if (e.event === "unlocked" && e.ok) lock = undefined;
    }
    return lock;
}

/** A deploy refused by a deploy lock (exit 3, like a stack another command holds): nothing was changed. */
export class LockedError extends BusyError {
    constructor(readonly lock: DeployLock, stack: string, what: string) {
        super(`${what} refused: stack ${stack} is locked for deploys by ${lock.who} since ${lock.since}: "${lock.reason}". ` +
            `Rollbacks still run. Nothing was changed. When deploys may go on: npm run noteshub -- unlock --stack ${stack}`);
        this.name = "LockedError";
    }
}

/** Throws LockedError when the log ends in a deploy lock. */
export function refuseWhenLocked(log: readonly LogEntry[], stack: string, what: string): void {
    const lock = deployLockOf(log);
    if (lock) throw new LockedError(lock, stack, what);
}
