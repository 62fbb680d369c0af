// Retiring the idle colour (issue #17; runbook "Keep Previous Version Running": wait 24-48 hours before
// decommissioning; "Immediate Rollback" step 3: stop the failed environment). Retired is stack config
// (noteshub:retired): the colour's app container is stopped, kept with its logs and image, so a rollback to it
// needs nothing built or pulled: it starts again and passes its whole health gate before traffic moves.
// `noteshub retire` does it now; `watch` does it when retireAfterHours have passed since the colours last moved.
import type { Color, NotesHubConfig } from "../infra/config";
import { namesFor } from "../infra/names";
import { configOf, type Context, type Result } from "./context";
import { deployLockOf } from "./deployLock";
import { BusyError } from "./lock";
import { execute } from "./execute";
import { movesColours, type LogEntry } from "./log";
import { colours, PlanError, planRetire, versionOf, type Declared } from "./plan";
import { declaredOf } from "./stack";

/** When `color` was last retired (ISO time), if the log says. */
export function retiredSinceOf(log: readonly LogEntry[], color: Color): string | undefined {
    return log.findLast((e) => e.event === "retired" && e.ok && e.figures?.color === color)?.time;
}

/** The last command that moved the colours (its start) and, once it ended, its end; undefined: none in the log. */
function lastMoveOf(log: readonly LogEntry[]): { started: LogEntry; finished?: LogEntry } | undefined {
    const i = log.findLastIndex(movesColours);
    if (i < 0) return undefined;
    const started = log[i];
    return { started, finished: log.slice(i).find((e) => e.event === "command-finished" && e.command === started.command) };
}

/** When the colours last moved: the end of the last command that moved them (undefined: none in the log). */
export function idleSinceOf(log: readonly LogEntry[]): string | undefined {
    const move = lastMoveOf(log);
    return (move?.finished ?? move?.started)?.time;
}

/**
 * The command that moves the colours and has not finished, if the log ends in one begun within `horizonMs` (older
 * counts as crashed): a deploy watching its release at 100 % lets go of the stack lock, and its own rollback must
 * find the colour it goes back to running.
 */
export function unfinishedMoveOf(log: readonly LogEntry[], horizonMs: number, now = Date.now()): LogEntry | undefined {
    const move = lastMoveOf(log);
    return move && !move.finished && now - Date.parse(move.started.time) <= horizonMs ? move.started : undefined;
}

/** How long a command that moves the colours may run (its steps and its watch at 100 %) before it counts as crashed. */
export const moveHorizonMs = (cfg: NotesHubConfig): number => (cfg.monitoring.watchSec + 3600) * 1000;

/**
 * When `watch` retires the idle colour (retireAfterHours after the colours last moved, or after `fallback` when the
 * log has no such move: a stack flipped by hand), or undefined when it won't: no setting, a shift, already retired.
 */
export function retireAt(cfg: NotesHubConfig, d: Declared, log: readonly LogEntry[], fallback: Date): Date | undefined {
    if (cfg.retireAfterHours === undefined || d.traffic < 100 || d.retired === colours(d).idle) return undefined;
    if (unfinishedMoveOf(log, moveHorizonMs(cfg))) return undefined; // judged again once it has finished
    const since = idleSinceOf(log);
    return new Date((since ? Date.parse(since) : fallback.getTime()) + cfg.retireAfterHours * 3_600_000);
}

/** Retires the idle colour through stack config and `pulumi up`; logs `retired` when it is stopped. */
export async function retireIdle(ctx: Context, cfg: NotesHubConfig, what = "retire"): Promise<Result> {
    const d = declaredOf(cfg);
    const steps = planRetire(d); // bad input (a shift, already retired) changes nothing
    const { idle } = colours(d);
    const running = unfinishedMoveOf(await ctx.records.read(), moveHorizonMs(cfg));
    if (running) {
        throw new PlanError(`retire refused: "${running.command}" (${running.who}, since ${running.time}) has not finished; it may still roll back to ${idle}, ` +
            `so ${idle} keeps running until it ends (noteshub log shows it). Nothing was changed`);
    }
    const result = await execute(ctx, cfg, what, steps);
    if (result.ok) {
        ctx.log("retired", `${idle} (${versionOf(d, idle)}) retired: stopped, its container and image kept`, true, { figures: { color: idle, version: versionOf(d, idle) } });
        ctx.say(`${idle} (${versionOf(d, idle)}) is stopped; its logs: docker logs ${namesFor(cfg).of(idle)}. A rollback to it starts it again (it passes its health gate first, so that rollback takes longer than a switch)`);
    }
    return result;
}

/**
 * watch's part: retires the idle colour once retireAt has passed, under the stack lock, judged again from the config
 * and log as they are then (another operator may have deployed meanwhile). Says what it did, or why not.
 */
export async function retireWhenDue(ctx: Context, seen: { cfg: NotesHubConfig; logLength: number }, watchStarted: Date): Promise<"retired" | "failed" | "locked" | "busy" | undefined> {
    const due = (c: NotesHubConfig, log: readonly LogEntry[]) => {
        const at = retireAt(c, declaredOf(c), log, watchStarted);
        return at !== undefined && at.getTime() <= Date.now();
    };
    const log = await ctx.records.read();
    // What the stack declares changes only with a logged command: the config is read again only then.
    if (log.length !== seen.logLength) {
        seen.cfg = await configOf(ctx);
        seen.logLength = log.length;
    }
    if (!due(seen.cfg, log)) return undefined;
    let lock;
    try {
        lock = await ctx.lock("watch: retire");
    } catch (err) {
        if (err instanceof BusyError) return "busy";
        throw err;
    }
    try {
        const now = await configOf(ctx);
        const fresh = await ctx.records.read();
        if (!due(now, fresh)) return undefined;
        if (deployLockOf(fresh)) return "locked";
        const r = await retireIdle(ctx, now, `retire (watch: no traffic for retireAfterHours ${now.retireAfterHours})`);
        return r.ok ? "retired" : "failed";
    } finally {
        await lock.release();
    }
}
