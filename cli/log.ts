// The deployment log (runbook "Communication Protocol"; INVARIANTS 10): every command, each of its steps and any
// restore, appended as one JSON line: who, what, why, the figures behind it, how long. `noteshub log` reads it.
// It lives beside the state (not in the repo), one per stack (cli/records.ts: a file for the file backend, an object
// in the bucket for S3); appends of one line are atomic enough for one writer, and the stack lock makes sure there
// is only one.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { dirname, join } from "node:path";

export interface LogEntry {
    readonly time: string;
    readonly stack: string;
    /** user@host, or NOTESHUB_ACTOR (e.g. a CI job or the watcher). */
    readonly who: string;
    /** The command line, e.g. "deploy v1.1.0". */
    readonly command: string;
    readonly event: "command-started" | "step" | "restore" | "command-finished" | "trigger" | "notification" | "locked" | "unlocked" | "paused" | "hook" | "retired";
    /** What happened, in words (a step's label). */
    readonly what: string;
    /** Why: the operator's command, or what a trigger saw. */
    readonly why: string;
    readonly ok: boolean;
    readonly seconds?: number;
    /** The figures behind the decision: resource changes, health answers, the declared state after. */
    readonly figures?: Record<string, unknown>;
    readonly error?: string;
}

/**
 * An entry that starts a command moving colours or traffic (a watcher's rollback included), as opposed to one that
 * does not (maintenance, lock, release): it ends a pause, and it is an operator acting.
 */
export const movesColours = (e: LogEntry): boolean =>
    e.event === "command-started" && (/^(deploy|rollback|revert|promote|abort|drill)\b/.test(e.command) || /^rollback\b/.test(e.what));

export function logFile(stateDir: string, stack: string): string {
    return join(stateDir, "log", `${stack}.jsonl`);
}

export const actor = (): string => process.env.NOTESHUB_ACTOR ?? `${safeUser()}@${hostname()}`;

function safeUser(): string {
    try {
        return userInfo().username;
    } catch {
        return process.env.USER ?? "unknown";
    }
}

export function appendLog(file: string, entry: Omit<LogEntry, "time">): LogEntry {
    const full: LogEntry = { time: new Date().toISOString(), ...entry };
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, JSON.stringify(full) + "\n");
    return full;
}

/** The log, oldest first; a line a crash cut short is skipped, not fatal. */
export function readLog(file: string): LogEntry[] {
    return existsSync(file) ? parseLog(readFileSync(file, "utf8")) : [];
}

/** The log's lines as entries, oldest first; a line a crash cut short is skipped. */
export function parseLog(text: string): LogEntry[] {
    return text.split("\n").filter(Boolean).flatMap((l) => {
        try {
            return [JSON.parse(l) as LogEntry];
        } catch {
            return [];
        }
    });
}
