// noteshub maintenance on --message "..." [--retry-after <seconds>] | off (issue #17, like kamal's `app maintenance`):
// the balancer answers every user request with 503, Retry-After and the message, from the traffic state it already
// reads per request, so nginx is not reloaded and keep-alive connections stay open; `off` serves traffic as declared
// again. It is stack config (noteshub:maintenance), so every `pulumi up` keeps it and a deploy can run behind it;
// the state is swapped in at once, then `pulumi up` records it in the stack's history.
import type { NotesHubConfig } from "../../infra/config";
import type { Maintenance } from "../../infra/render/nginx";
import { applyState } from "../../infra/providers/trafficState";
import { configOf, type Command, type Context } from "../context";
import { balancerHolder, stateFor } from "../fastSwitch";
import { PlanError } from "../plan";
import { cleanError } from "../run";
import { declaredOf, readConfigFile, up, writeConfigFile } from "../stack";

/** What `on` asks for, checked as the config schema checks it (bad input changes nothing). */
function asked(ctx: Context): Maintenance {
    const message = typeof ctx.options.message === "string" ? ctx.options.message.trim() : "";
    if (!message) throw new PlanError(`maintenance on needs the message users will read: noteshub maintenance on --message "Back at 03:30 UTC" --stack ${ctx.stack.name}`);
    if (message.length > 500) throw new PlanError(`--message must be at most 500 characters, got ${message.length}`);
    const retry = ctx.options["retry-after"] === undefined ? 300 : Number(ctx.options["retry-after"]);
    if (!(Number.isInteger(retry) && retry >= 1 && retry <= 86_400)) throw new PlanError(`--retry-after must be whole seconds, 1-86400 (what Retry-After tells clients), got ${ctx.options["retry-after"]}`);
    return { message, retryAfterSec: retry };
}

export const maintenance: Command = {
    changes: true,
    async run(ctx) {
        const [mode, ...rest] = ctx.args;
        if ((mode !== "on" && mode !== "off") || rest.length) throw new PlanError(`maintenance takes on or off: noteshub maintenance on --message "Back at 03:30 UTC" [--retry-after 300], or noteshub maintenance off`);
        if (mode === "off" && (ctx.options.message !== undefined || ctx.options["retry-after"] !== undefined)) throw new PlanError("maintenance off takes no --message or --retry-after");
        const next = mode === "on" ? asked(ctx) : undefined;
        const cfg = await configOf(ctx);
        const what = next ? `maintenance on: "${next.message}" (Retry-After ${next.retryAfterSec} s)` : "maintenance off";
        if (JSON.stringify(cfg.maintenance ?? null) === JSON.stringify(next ?? null)) {
            ctx.say(`stack ${ctx.stack.name}: maintenance is already ${mode}${next ? ` with that message` : ""}; nothing to do`);
            return { ok: true, json: { stack: ctx.stack.name, maintenance: next ?? null, changed: false } };
        }
        const after: NotesHubConfig = { ...cfg, maintenance: next };
        const started = Date.now();
        ctx.log("command-started", what, true, { figures: { maintenance: next ?? null, was: cfg.maintenance ?? null } });
        const before = readConfigFile(ctx.stack);
        try {
            // One key, written whole (a JSON value, so a message that looks like a number stays text).
            if (next) await ctx.stack.stack.setConfig("noteshub:maintenance", { value: JSON.stringify(next) });
            else await ctx.stack.stack.removeConfig("noteshub:maintenance");
            await applyState({ docker: cfg.docker, containerId: await balancerHolder(cfg), state: stateFor(after, declaredOf(after)) });
        } catch (err) {
            writeConfigFile(ctx.stack, before);
            ctx.log("command-finished", what, false, { seconds: (Date.now() - started) / 1000, error: cleanError(err) });
            throw err;
        }
        ctx.say(next
            ? `the balancer answers 503 with "${next.message}" (Retry-After ${next.retryAfterSec} s) to every user request; recording it with pulumi up`
            : `the balancer serves traffic as declared again; recording it with pulumi up`);
        try {
            const r = await up(ctx.stack, `noteshub ${what}`, () => undefined);
            const seconds = (Date.now() - started) / 1000;
            ctx.log("command-finished", what, true, { seconds, figures: { changes: r.summary } });
            ctx.say(`${what}: done in ${seconds.toFixed(1)} s (${r.summary})`);
            return { ok: true, json: { stack: ctx.stack.name, maintenance: next ?? null, changed: true, seconds } };
        } catch (err) {
            const seconds = (Date.now() - started) / 1000;
            ctx.log("command-finished", what, false, { seconds, error: cleanError(err) });
            ctx.say(`${what}: the balancer already does it (the config declares it), but pulumi up failed:\n${cleanError(err)}\nrun it again: npm run pulumi -- up --stack ${ctx.stack.name}`);
            return { ok: false, json: { stack: ctx.stack.name, maintenance: next ?? null, changed: true, seconds, error: cleanError(err) } };
        }
    },
};
