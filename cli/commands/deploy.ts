// noteshub deploy <version>: the idle colour gets the version, traffic moves step by step with the triggers armed,
// then it is watched at 100 % (runbook "Gradual Traffic Shift", "Monitoring & Alerts"); --pause-at stops after one
// step, watched, until noteshub promote or abort (cli/pause.ts, commands/promote.ts).
import { NAMESPACE, otherColor, type NotesHubConfig } from "../../infra/config";
import { weightsOf } from "../../infra/render/nginx";
import { configOf, type Command, type Context, type Result } from "../context";
import { refuseWhenLocked } from "../deployLock";
import { execute } from "../execute";
import { runHooks } from "../hooks";
import { Incident, notifierFor } from "../incident";
import { BusyError } from "../lock";
import type { Firing } from "../monitor/triggers";
import { Watcher, type Watched } from "../monitor/watcher";
import { watchPaused } from "../pause";
import { PlanError, planDeploy, versionOf, type Declared, type Step } from "../plan";
import { cleanError, TriggerFired, type RunOutcome } from "../run";
import { declaredOf, readConfig } from "../stack";

/** What the watcher watches for a declared state: the active colour, when it has a share. */
export const watchedOf = (d: Declared): Watched => ({
    live: d.traffic > 0 ? d.activeColor : undefined,
    versions: { blue: d.blueVersion, green: d.greenVersion },
    shares: weightsOf(d.activeColor, d.traffic),
});

export const deploy: Command = {
    changes: true,
    async run(ctx) {
        const [version] = ctx.args;
        if (!version) throw new PlanError("deploy needs a version: noteshub deploy v1.2.3");
        const cfg = await configOf(ctx);
        refuseWhenLocked(await ctx.records.read(), ctx.stack.name, `deploy ${version}`);
        if (cfg.environment === "production" && !cfg.app.build && !cfg.app.digests[version]) {
            throw new PlanError(`${version} has not been released (no ${NAMESPACE}:app.digests["${version}"]): production runs only released bytes; release it first: npm run noteshub -- release ${version} --stack ${ctx.stack.name}`);
        }
        const steps = String(ctx.options.steps ?? "10,25,50,100").split(",").map(Number);
        const schema = ctx.options.schema === undefined ? undefined : Number(ctx.options.schema);
        if (schema !== undefined && !(Number.isInteger(schema) && schema >= 0)) throw new PlanError(`--schema must be a migration number (0 or more), got ${ctx.options.schema}`);
        const watchSec = watchSecOf(ctx, cfg);
        const d = declaredOf(cfg);
        const plan = planDeploy(d, version, { steps, schema });
        const pauseAt = pauseAtOf(ctx, steps);
        const idle = otherColor(d.activeColor);
        const facts = { command: `deploy ${version}`, version, from: { color: d.activeColor, version: versionOf(d, d.activeColor) }, to: { color: idle, version }, steps, pauseAt: pauseAt ?? null };
        await runHooks(ctx, cfg, "pre-deploy", facts);
        const result = await runRelease(ctx, cfg, `deploy ${version}`, version, plan, { watchSec, pauseAt });
        const out = result.json as { paused?: unknown; trigger?: unknown };
        await runHooks(ctx, cfg, "post-deploy", { ...facts, ok: result.ok, paused: out.paused ?? null, trigger: out.trigger ?? null });
        return result;
    },
};

/** --pause-at: one of the traffic steps before 100 %. */
export function pauseAtOf(ctx: Context, steps: number[]): number | undefined {
    if (ctx.options["pause-at"] === undefined) return undefined;
    const at = Number(ctx.options["pause-at"]);
    if (!steps.slice(0, -1).includes(at)) throw new PlanError(`--pause-at must be one of the traffic steps before 100 % (${steps.slice(0, -1).join(", ") || "none"}), got ${ctx.options["pause-at"]}`);
    return at;
}

/** --watch, or monitoring.watchSec. */
export function watchSecOf(ctx: Context, cfg: NotesHubConfig): number {
    const watchSec = ctx.options.watch === undefined ? cfg.monitoring.watchSec : Number(ctx.options.watch);
    if (!(Number.isInteger(watchSec) && watchSec >= 0)) throw new PlanError(`--watch must be whole seconds (0 or more), got ${ctx.options.watch}`);
    return watchSec;
}

/**
 * Runs a release's steps (deploy's, or the rest of a paused one for promote), each traffic step watched with the
 * triggers armed, 100 % for `watchSec`; with `pauseAt`, it stops after that step and watches it paused
 * (cli/pause.ts) until promote, abort or another command.
 */
export async function runRelease(ctx: Context, cfg: NotesHubConfig, what: string, version: string, plan: Step[], o: { watchSec: number; pauseAt?: number; before?: Declared }): Promise<Result> {
    // What ran before the release began: a trigger or a failed step goes back to it (a promote's too).
    const before = o.before ?? declaredOf(cfg);
    const watchSec = o.watchSec;
    const notifier = notifierFor(ctx, cfg);
    // The runbook's flow is one flow: shift, monitor, then commit or roll back. Each traffic step is watched
    // (monitoring.stepSec), and 100 % for monitoring.watchSec (15-30 minutes); one watcher all along, so a
    // trigger's "for 5 minutes" counts from when the condition began, across steps. A trigger fails the step,
    // and the step's restore sends traffic back; the figures come from the balancer's log.
    const watcher = new Watcher(cfg, { ...watchedOf(declaredOf(cfg)), live: undefined });
    await watcher.start();
    let incident: Incident | undefined;
    let tookOver = false;
    const fire = (f: Firing, after: Declared): never => {
        const from = { color: after.activeColor, version: after[`${after.activeColor}Version`] };
        const back = before.activeColor; // where the restore sends traffic (runSteps' restoreTo)
        incident = new Incident(ctx, cfg, notifier, watcher, f, from, { color: back, version: after[`${back}Version`] });
        incident.begin();
        throw new TriggerFired(f.trigger, f.reason);
    };
    try {
        const result = await execute(ctx, cfg, what, plan, {
            stopAfter: (after, step) => step.checkAfter === true && after.traffic === o.pauseAt,
            restoreTo: before,
            bake: async (after) => {
                watcher.update(watchedOf(after));
                const final = after.traffic === 100;
                const sec = final ? watchSec : cfg.monitoring.stepSec;
                if (sec === 0) return;
                const what = `${after.activeColor} (${after[`${after.activeColor}Version`]})`;
                ctx.say(final
                    ? `    watching ${what} at 100 % for ${sec} s before the release is done (runbook: monitor 15-30 minutes); rollback triggers armed; Ctrl-C ends the watch and keeps the release`
                    : `    watching ${what} at ${after.traffic} % for ${sec} s; rollback triggers armed`);
                if (!final) {
                    const f = await watcher.watchFor(sec * 1000);
                    if (f) fire(f, after);
                    return;
                }
                let retake: (() => Promise<void>) | undefined;
                try {
                    retake = await ctx.pauseLock?.();
                } catch (err) {
                    ctx.say(`    could not let go of the stack lock for the watch (${cleanError(err).split("\n")[0]}); watching with it held`);
                }
                let f: Firing | undefined;
                try {
                    f = await untilSignal(watcher.watchFor(sec * 1000), () => ctx.say("    watch ended by the operator: the release stays"));
                } finally {
                    try {
                        await retake?.();
                    } catch (err) {
                        // Whatever the reason (another command holds it, the bucket did not answer): without the
                        // lock nothing is rolled back or restored; the release stays as it is.
                        const why = err instanceof BusyError ? `another command took the stack during the watch (${err.message}); it is left to that command` : `the stack lock could not be taken again (${cleanError(err).split("\n")[0]}); the release stays, nothing is rolled back without the lock`;
                        ctx.say(`    ${f ? `rollback trigger ${f.trigger} fired, but ` : ""}${why}`);
                        f = undefined;
                        tookOver = true;
                    }
                }
                const now = declaredOf(await readConfig(ctx.stack));
                if (!tookOver && (now.activeColor !== after.activeColor || now.traffic !== after.traffic || versionOf(now, now.activeColor) !== versionOf(after, after.activeColor))) {
                    ctx.say(`    the stack changed during the watch (another command): ${now.activeColor} (${versionOf(now, now.activeColor)}) at ${now.traffic} % now; the watch ends here`);
                    tookOver = true;
                    return;
                }
                if (f) fire(f, after);
            },
        });
        const outcome = result.json as RunOutcome;
        const restored = outcome.restored;
        incident?.end(restored?.ok === true, restored?.error);
        if (result.ok && outcome.stoppedAfter !== undefined) {
            const after = declaredOf(await readConfig(ctx.stack));
            const remaining = plan.slice(plan.findIndex((st) => st.label === outcome.stoppedAfter) + 1).map((st) => st.change.traffic!);
            const paused = await watchPaused(ctx, cfg, { version, at: o.pauseAt!, remaining, declared: after, before, watchSec }, watcher, notifier);
            // Rolled back while paused (a trigger): the release did not hold.
            const ok = result.ok && !paused.rolledBack;
            return { ok, json: { ...(result.json as object), ok, paused, trigger: paused.trigger ?? null } };
        }
        if (result.ok && !tookOver) ctx.say(watchSec > 0 ? `${version} has all traffic and held it for ${watchSec} s with the triggers armed; to keep watching: npm run noteshub -- watch --stack ${ctx.stack.name}` : `${version} has all traffic; it was not watched at 100 % (--watch 0): npm run noteshub -- watch --stack ${ctx.stack.name}`);
        return { ...result, json: { ...(result.json as object), trigger: incident ? { ...incident.firing, impact: incident.impact() } : null } };
    } finally {
        await watcher.stop();
        await notifier.flush(10_000);
    }
}

/** Waits for `p`, or for SIGINT/SIGTERM (then undefined): the operator ends a long watch, not the command. */
async function untilSignal<T>(p: Promise<T | undefined>, onSignal: () => void): Promise<T | undefined> {
    let stop: () => void = () => undefined;
    const signalled = new Promise<undefined>((resolve) => {
        stop = () => {
            onSignal();
            resolve(undefined);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
    });
    try {
        return await Promise.race([p, signalled]);
    } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
    }
}
