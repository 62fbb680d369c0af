// deploy --pause-at <share> (issue #17; Argo Rollouts' pause and promote, kamal #941): the deploy stops after that
// traffic step and stays paused, its triggers armed, until `noteshub promote` runs the rest or `noteshub abort`
// sends traffic back. The pause is an entry in the deployment log (beside the state, so the whole rota sees it) and
// holds while the stack still declares what it paused at; the deploy that paused keeps watching without the stack
// lock (so the rota can act), rolls back on a trigger, and ends when another command moves the colours.
import type { Color, NotesHubConfig } from "../infra/config";
import type { Context } from "./context";
import { execute } from "./execute";
import type { LogEntry } from "./log";
import type { Watcher } from "./monitor/watcher";
import type { Notifier } from "./notify";
import { versionOf, type Declared } from "./plan";
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
    /** deploy's --watch at 100 %, for promote to keep. */
    readonly watchSec: number;
}

export interface PausedDeploy extends Pause {
    readonly color: Color;
    readonly who: string;
    readonly since: string;
}

/** A command that moves colours or traffic (a watcher's rollback included): after it, a pause is over. */
const moves = (e: LogEntry) => e.event === "command-started" && (/^(deploy|rollback|revert|promote|abort|drill)\b/.test(e.command) || /^rollback\b/.test(e.what));

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
export async function watchPaused(ctx: Context, cfg: NotesHubConfig, pause: Pause, watcher: Watcher, notifier: Notifier): Promise<{ at: number; remaining: number[]; ended: string }> {
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
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const result = (ended: string) => ({ at: pause.at, remaining: pause.remaining, ended });
    try {
        while (!signalled) {
            const f = await watcher.watchFor(1000);
            if (f) {
                ctx.say(`TRIGGER ${f.trigger} while paused: ${f.reason}; rolling back`);
                const r = await autoRollback(ctx, execute, notifier, watcher, f, { color, version });
                return result(r.what);
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
