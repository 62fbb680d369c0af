// Runs a command's plan and tells the operator and the deployment log about each step: what every command that
// changes the stack shares (status, history and log only read).
import type { NotesHubConfig } from "../infra/config";
import type { Context, Result } from "./context";
import { switchNow } from "./fastSwitch";
import type { Step } from "./plan";
import { runSteps, type Reporter, type RunOptions, type RunOutcome } from "./run";
import { declaredOf } from "./stack";

function reporter(ctx: Context): Reporter {
    return {
        step: (i, n, label) => ctx.say(`step ${i}/${n}: ${label}`),
        progress: (line) => ctx.say(`    ${line}`),
        done: (r, after) => {
            ctx.say(r.ok ? `    done in ${r.seconds.toFixed(1)} s (${r.changes})` : `    FAILED after ${r.seconds.toFixed(1)} s:\n${r.error}`);
            ctx.log("step", r.label, r.ok, { seconds: r.seconds, figures: { changes: r.changes, declared: after }, error: r.error });
        },
        note: (text) => ctx.say(text),
        restored: (label, ok, error) => ctx.log("restore", label, ok, { why: "the step before failed: back to what ran before", error }),
    };
}

/** Runs a plan made from `cfg` (the config the caller already read: one `pulumi config` call per command). */
export async function execute(ctx: Context, cfg: NotesHubConfig, what: string, steps: Step[], opts: Omit<RunOptions, "pauseSec" | "moveTraffic"> = {}): Promise<Result> {
    const started = Date.now();
    ctx.say(`${what} on stack ${ctx.stack.name}: ${steps.length} step(s)`);
    ctx.log("command-started", `${what}: ${steps.map((s) => s.label).join("; ")}`, true, { figures: { declared: declaredOf(cfg) } });
    const outcome: RunOutcome = await runSteps(ctx.stack, cfg, declaredOf(cfg), steps, what, reporter(ctx), { pauseSec: Number(ctx.options.pause ?? 0), moveTraffic: (after) => switchNow(ctx, cfg, after), lockLost: ctx.lockLost, ...opts });
    const seconds = (Date.now() - started) / 1000;
    ctx.log("command-finished", what, outcome.ok, { seconds, figures: { steps: outcome.steps.length, restored: outcome.restored ?? null } });
    if (outcome.ok) ctx.say(`${what}: done in ${seconds.toFixed(1)} s`);
    else ctx.say(`${what}: FAILED; ${outcome.restored?.ok ? `restored (${outcome.restored.label})` : `restoring failed too: ${outcome.restored?.error ?? "?"}; run noteshub status`}`);
    return { ok: outcome.ok, json: { command: what, stack: ctx.stack.name, seconds, ...outcome } };
}
