// noteshub rollback: immediate (traffic back to the other colour), standard (--to a retained version, with its
// downs) or emergency (restart the last known good colour, optionally restoring the release's backups); the stack's
// rollback hooks around each (cli/hooks.ts), which never stop it. --retire then stops the colour rolled back from.
import { otherColor, type Color, type NotesHubConfig } from "../../infra/config";
import { connect } from "../../infra/docker/engine";
import { liveWeights, shareOf } from "../../infra/docker/live";
import { namesFor } from "../../infra/names";
import { configOf, type Command, type Context, type Result } from "../context";
import { execute } from "../execute";
import { rollbackHooks } from "../hooks";
import { planEmergency, planImmediate, planRollbackTo, versionOf, type Declared, type Step } from "../plan";
import { restoreReleaseBackups } from "../restore";
import { retiredSinceOf, retireIdle } from "../retire";
import { declaredOf } from "../stack";

type Kind = "immediate" | "standard" | "emergency";

export const rollback: Command = {
    changes: true,
    async run(ctx) {
        const cfg = await configOf(ctx);
        const d = declaredOf(cfg);
        const kind: Kind = ctx.options.emergency ? "emergency" : typeof ctx.options.to === "string" ? "standard" : "immediate";
        // Planned first: bad input runs no hook and changes nothing.
        const plan = kind === "emergency" ? planEmergency(d) : { target: undefined, steps: kind === "standard" ? planRollbackTo(d, ctx.options.to as string) : planImmediate(d) };
        const live = { color: d.activeColor, version: versionOf(d, d.activeColor), traffic: d.traffic };
        const target = plan.target ?? otherColor(d.activeColor);
        const to = kind === "standard" ? { version: ctx.options.to as string } : { color: target, version: versionOf(d, target) };
        const facts = { command: `rollback${kind === "immediate" ? "" : kind === "standard" ? ` --to ${to.version}` : " --emergency"}`, kind, from: live, to };
        if (d.retired === target) {
            const since = retiredSinceOf(await ctx.records.read().catch(() => []), target);
            ctx.say(`${target} (${versionOf(d, target)}) was retired${since ? ` at ${since}` : ""} (stopped): it starts again and passes its whole health gate before traffic moves, so this rollback takes longer than a switch to a running colour`);
        }
        const hooks = rollbackHooks(ctx, cfg, facts);
        const result = await rollbackAs(ctx, cfg, d, kind, plan);
        await hooks.done(result.ok);
        if (!result.ok || !ctx.options.retire) return result;
        // Runbook "Immediate Rollback" step 3: stop the failed environment, once the good one has all the traffic.
        const now = await configOf(ctx);
        const from = otherColor(now.activeColor);
        if (now.retired === from) {
            ctx.say(`${from} (${versionOf(declaredOf(now), from)}) is retired already`);
            return result;
        }
        const retired = await retireIdle(ctx, now, "rollback --retire: retire the colour rolled back from");
        if (!retired.ok) ctx.say("the rollback itself is done (all traffic on the colour rolled back to); only stopping the other colour failed: run noteshub retire again");
        return { ok: retired.ok, json: { ...(result.json as object), retire: retired.json } };
    },
};

async function rollbackAs(ctx: Context, cfg: NotesHubConfig, d: Declared, kind: Kind, plan: { target?: Color; steps: Step[] }): Promise<Result> {
    if (kind === "emergency") {
        const { target, steps } = plan as { target: Color; steps: Step[] };
        const docker = connect(cfg.docker);
        const names = namesFor(cfg);
        const name = names.of(target);
        // A colour that serves is never restarted (INVARIANTS 4): during a shift the last known good colour still
        // has its share, and restarting it would drop its requests. The live state says, else the declared one.
        const share = shareOf(await liveWeights(docker, names.of("lb")).catch(() => null), target);
        if (d.retired === target) {
            ctx.say(`emergency: ${name} (the last known good colour) was retired: pulumi up starts it again`);
        } else if (share !== 0) {
            ctx.say(`emergency: ${name} (the last known good colour) ${share === null ? "may serve traffic (the balancer's state can't be read)" : `serves ${share} % of traffic`}, so it is not restarted; all traffic moves to it`);
        } else {
            ctx.say(`emergency: restarting ${name} (the last known good colour)`);
            await docker.getContainer(name).restart({ t: cfg.app.drainSec });
        }
        const result = await execute(ctx, cfg, "rollback --emergency", steps);
        if (!result.ok || !ctx.options["restore-data"]) return result;
        // What the release left behind changed: the migrations its version needs and the target's does not.
        const from = versionOf(d, otherColor(target));
        const span = { after: cfg.schema[versionOf(d, target)] ?? 0, upTo: cfg.schema[from] ?? 0 };
        const restored = span.upTo > span.after ? await restoreReleaseBackups(cfg, span) : [];
        const what = restored.length ? `restored ${restored.map((r) => `backup ${r.backup}`).join(", ")}` : "no backup to restore";
        ctx.log("step", what, true, { why: "--restore-data: the data is at fault", figures: { restored } });
        if (!restored.length) {
            ctx.say(span.upTo > span.after
                ? `no backup taken by the migrations ${from} needs beyond ${versionOf(d, target)} (${span.after + 1}-${span.upTo}): the data was left as it is`
                : `${from} needs no migration ${versionOf(d, target)} does not: no backup of its to restore; the data was left as it is`);
        }
        for (const r of restored) {
            ctx.say(`restored backup ${r.backup} (taken by migration ${r.migration} at ${r.createdAt}): ${r.documents} documents` +
                (r.kept ? `; ${r.kept} written since were left as they are (${r.keptIds.join(", ")}${r.kept > r.keptIds.length ? ", ..." : ""})` : ""));
        }
        return { ok: true, json: { ...(result.json as object), restored } };
    }
    if (kind === "standard") return execute(ctx, cfg, `rollback --to ${ctx.options.to}`, plan.steps);
    return execute(ctx, cfg, "rollback", plan.steps, { fastSteps: true });
}
