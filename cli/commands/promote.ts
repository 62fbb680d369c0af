// noteshub promote / noteshub abort: a deploy paused by --pause-at goes on to 100 % (its remaining steps, each watched
// with the triggers armed, then the watch at 100 %), or its traffic goes back to the colour that served before.
import { otherColor } from "../../infra/config";
import { configOf, type Command, type Context } from "../context";
import { refuseWhenLocked } from "../deployLock";
import { execute } from "../execute";
import { rollbackHooks, runHooks } from "../hooks";
import type { LogEntry } from "../log";
import { pausedDeployOf, type PausedDeploy } from "../pause";
import { PlanError, planImmediate, versionOf, type Step } from "../plan";
import { declaredOf } from "../stack";
import { pauseAtOf, runRelease, watchSecOf } from "./deploy";

async function paused(ctx: Context, what: string): Promise<{ p: PausedDeploy; cfg: Awaited<ReturnType<typeof configOf>>; log: LogEntry[] }> {
    const cfg = await configOf(ctx);
    const d = declaredOf(cfg);
    const log = await ctx.records.read();
    const p = pausedDeployOf(log, d);
    if (!p) {
        throw new PlanError(`no paused deploy on stack ${ctx.stack.name} to ${what} (the stack declares ${d.activeColor} at ${d.traffic} %); ` +
            `a deploy pauses with noteshub deploy <version> --pause-at 25${what === "abort" ? "; to roll back anyway: noteshub rollback" : ""}`);
    }
    return { p, cfg, log };
}

export const promote: Command = {
    changes: true,
    async run(ctx) {
        const { p, cfg, log } = await paused(ctx, "promote");
        refuseWhenLocked(log, ctx.stack.name, `promote ${p.version}`);
        const steps: Step[] = p.remaining.map((share) => ({ label: `${p.color} (${p.version}) gets ${share} % of traffic`, change: { activeColor: p.color, traffic: share }, checkAfter: true }));
        const watchSec = ctx.options.watch === undefined ? p.watchSec : watchSecOf(ctx, cfg);
        const pauseAt = pauseAtOf(ctx, p.remaining);
        ctx.say(`promote: the deploy of ${p.version} paused at ${p.at} % by ${p.who} since ${p.since} goes on: ${p.remaining.join(" -> ")} %`);
        // A promote is the rest of a deploy: its hooks run (a change freeze stops it), and a failure goes back to what
        // ran before the deploy, not to the pause.
        const facts = { command: "promote", version: p.version, from: { color: p.before.activeColor, version: versionOf(p.before, p.before.activeColor) }, to: { color: p.color, version: p.version }, steps: p.remaining, pauseAt: pauseAt ?? null };
        await runHooks(ctx, cfg, "pre-deploy", facts);
        const result = await runRelease(ctx, cfg, `promote ${p.version}`, p.version, steps, { watchSec, pauseAt, before: p.before });
        const out = result.json as { paused?: unknown; trigger?: unknown };
        await runHooks(ctx, cfg, "post-deploy", { ...facts, ok: result.ok, paused: out.paused ?? null, trigger: out.trigger ?? null });
        return result;
    },
};

export const abort: Command = {
    changes: true,
    async run(ctx) {
        const { p, cfg } = await paused(ctx, "abort");
        ctx.say(`abort: the deploy of ${p.version} paused at ${p.at} % by ${p.who} since ${p.since}: all traffic back`);
        const d = declaredOf(cfg);
        const steps = planImmediate(d);
        const back = otherColor(p.color);
        const facts = { command: "abort", kind: "abort", from: { color: p.color, version: p.version, traffic: d.traffic }, to: { color: back, version: versionOf(d, back) } };
        const hooks = rollbackHooks(ctx, cfg, facts);
        const result = await execute(ctx, cfg, `abort ${p.version}`, steps, { fastSteps: true });
        await hooks.done(result.ok);
        return result;
    },
};
