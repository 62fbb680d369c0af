// What every command gets (Context) and gives back (Result), apart from the commands themselves, so a command in
// its own file imports this and never the list of commands (no import cycles).
import type { NotesHubConfig } from "../infra/config";
import type { Lock } from "./lock";
import type { LogEntry } from "./log";
import type { StackRecords } from "./records";
import { readConfig, type openStack } from "./stack";

export interface Context {
    readonly stack: Awaited<ReturnType<typeof openStack>>;
    readonly args: string[];
    readonly options: Record<string, string | boolean | undefined>;
    readonly say: (text: string) => void;
    readonly json: boolean;
    /** Appends to the deployment log (commands that change the stack). */
    readonly log: (event: LogEntry["event"], what: string, ok: boolean, extra?: Partial<Pick<LogEntry, "why" | "seconds" | "figures" | "error">>) => void;
    /** The stack's lock and deployment log, beside its state. */
    readonly records: StackRecords;
    /**
     * Takes the stack's lock (a command that acts later, like watch, locks then) and, with shared state, brings this
     * clone's declared keys to the stack's last update (cli/sync.ts), so what it acts on is what runs.
     */
    readonly lock: (command: string) => Promise<Lock>;
    /** True once another command took this command's lock over (it was stopped past the lease): stop, change nothing. */
    readonly lockLost?: () => boolean;
    /** Adjusts the config a command acts on without writing it (the drill's short monitoring windows). */
    readonly tune?: (cfg: NotesHubConfig) => NotesHubConfig;
    /**
     * Lets go of the command's stack lock while it only watches (deploy's long watch at 100 %: the rota must be able
     * to roll back meanwhile); the function it returns takes the lock again, or throws BusyError naming who has it.
     */
    readonly pauseLock?: () => Promise<() => Promise<void>>;
}

/** The stack's config as this command acts on it. */
export async function configOf(ctx: Context): Promise<NotesHubConfig> {
    const cfg = await readConfig(ctx.stack);
    return ctx.tune ? ctx.tune(cfg) : cfg;
}

export interface Result {
    readonly ok: boolean;
    readonly json: unknown;
}

export interface Command {
    /** Changes the stack: takes the stack lock (and writes the deployment log). */
    readonly changes: boolean;
    /** Writes the deployment log without taking the lock for its whole run (watch: only while it rolls back). */
    readonly records?: boolean;
    run(ctx: Context): Promise<Result>;
}
