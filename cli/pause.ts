// deploy --pause-at <share> (issue #17; Argo Rollouts' pause and promote, kamal #941): the deploy stops after that
// traffic step and stays paused, its triggers armed, until `noteshub promote` runs the rest or `noteshub abort`
// sends traffic back. The pause is an entry in the deployment log (beside the state, so the whole rota sees it) and
// holds while the stack still declares what it paused at; the deploy that paused keeps watching without the stack
// lock (so the rota can act), rolls back on a trigger, and ends when another command moves the colours.
import type { Color, NotesHubConfig } from "../infra/config";
import type { Context } from "./context";
import { execute } from "./execute";
import { movesColours as moves, type LogEntry } from "./log";
import type { Watcher } from "./monitor/watcher";
import type { Notifier } from "./notify";
import { versionOf, type Declared } from "./plan";
import { BusyError } from "./lock";
import { cleanError } from "./run";
import { autoRollback } from "./watch";

export interface Pause {
    readonly version: string;
    /** The share it paused at. */
    readonly at: number;
    /** The traffic steps left, e.g. [50, 100]. */
    readonly remaining: number[];
    /** What the stack declared when it paused. */
    readonly declared: Declared;
    /** What it declared before the deploy began: where a failed promote or an abort goes back to. */
    readonly before: Declared;
    /** deploy's --watch at 100 %, for promote to keep. */
    readonly watchSec: number;
}

export interface PausedDeploy extends Pause {
    readonly color: Color;
    readonly who: string;
    readonly since: string;
}


/** The deploy paused now: the last pause, if no command moved the colours since and the stack declares what it paused at. */
export function pausedDeployOf(log: readonly LogEntry[], now: Declared): PausedDeploy | undefined {
    let at = -1;
    log.forEach((e, i) => {
        if (e.event === "paused" && e.ok) at = i;
    });
    if (at < 0 || log.slice(at + 1).some(moves)) return undefined;
    const e = log[at];
    const p = e.figures as unknown as Pause;
    const d = p.declared;
    if (now.activeColor !== d.activeColor || now.traffic !== d.traffic || now.blueVersion !== d.blueVersion || now.greenVersion !== d.greenVersion) return undefined;
    return { ...p, color: d.activeColor, who: e.who, since: e.time };
}

/**
 * Records the pause, lets go of the stack lock, and watches the paused release with its triggers armed until a
 * trigger fires (then rolls it back, as `watch` would), another command moves the colours, or the operator stops
 * it (the pause stays: promote and abort work from any clone). Returns what ended it.
 */
export async function watchPaused(ctx: Context, cfg: NotesHubConfig, pause: Pause, watcher: Watcher, notifier: Notifier): Promise<{ at: number; remaining: number[]; ended: string; rolledBack: boolean; trigger?: unknown }> {
    const color = pause.declared.activeColor;
    const version = versionOf(pause.declared, color);
    ctx.log("paused", `paused at ${pause.at} %: ${color} (${version}); left: ${pause.remaining.join(" -> ")} %`, true, { figures: { ...pause } });
    ctx.say(`paused at ${pause.at} %: ${color} (${version}) has ${pause.at} % of traffic, watched with the rollback triggers armed. ` +
        `Continue: npm run noteshub -- promote --stack ${ctx.stack.name}; roll back: npm run noteshub -- abort --stack ${ctx.stack.name}. Ctrl-C ends this watch; the deploy stays paused`);
    try {
        await ctx.pauseLock?.();
    } catch (err) {
        ctx.say(`could not let go of the stack lock (${cleanError(err).split("\n")[0]}); promote and abort wait for it`);
    }
    const mark = (await ctx.records.read()).length;
    let signalled = false;
    const stop = () => (signalled = true);
    // `on`, not `once`: a second Ctrl-C during a rollback must not fall through to the default (kill mid-up).
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    const result = (ended: string, rolledBack = false, trigger?: unknown) => ({ at: pause.at, remaining: pause.remaining, ended, rolledBack, trigger });
    try {
        while (!signalled) {
            const f = await watcher.watchFor(1000);
            if (f) {
                ctx.say(`TRIGGER ${f.trigger} while paused: ${f.reason}; rolling back`);
                try {
                    const r = await autoRollback(ctx, execute, notifier, watcher, f, { color, version });
                    return result(r.what, r.ok, { trigger: f.trigger, reason: f.reason });
                } catch (err) {
                    // Another command held the stack past the wait: it owns what happens next; the trigger is on record.
                    const why = err instanceof BusyError ? err.message : cleanError(err).split("\n")[0];
                    ctx.say(`rollback trigger ${f.trigger} fired while paused, but the rollback could not run: ${why}; run noteshub status, then noteshub abort or rollback`);
                    ctx.log("trigger", `${f.trigger} on ${color} (${version}) while paused: not rolled back (${why})`, false, { why: `rollback trigger ${f.trigger}: ${f.reason}`, figures: { ...f.figures, trigger: f.trigger } });
                    notifier.send({ kind: "rollback-failed", stack: ctx.stack.name, from: version, to: versionOf(pause.before, pause.before.activeColor), reason: f.reason, status: `not rolled back: ${why}` });
                    return result(`trigger ${f.trigger} fired; not rolled back: ${why}`, false, { trigger: f.trigger, reason: f.reason });
                }
            }
            const other = (await ctx.records.read()).slice(mark).find(moves);
            if (other) {
                ctx.say(`${other.who} ran noteshub ${other.command}: the paused deploy is in their hands; this watch ends`);
                return result(`${other.command} by ${other.who}`);
            }
        }
        ctx.say(`watch ended by the operator: the deploy stays paused at ${pause.at} % (promote or abort)`);
        return result("the operator ended the watch; still paused");
    } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
    }
}
