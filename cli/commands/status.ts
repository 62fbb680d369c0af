// noteshub status: what runs and what is declared, side by side; exit 1 when they differ or a serving colour is sick.
import { otherColor, retainedList, targetSchema } from "../../infra/config";
import { weightsOf } from "../../infra/render/nginx";
import { configOf, type Command } from "../context";
import { deployLockOf } from "../deployLock";
import { colourHealth } from "../health";
import { pausedDeployOf } from "../pause";
import { retireAt, retiredSinceOf } from "../retire";
import { declaredOf, outputs } from "../stack";

export const status: Command = {
    changes: false,
    async run(ctx) {
        const cfg = await configOf(ctx);
        const out = await outputs(ctx.stack).catch(() => ({} as Record<string, unknown>));
        const url = typeof out.url === "string" ? out.url : undefined;
        let balancer: Record<string, any> | undefined;
        if (url) balancer = await fetch(`${url}/lb/status`).then((r) => r.json() as Promise<Record<string, any>>).catch(() => undefined);
        const health = await colourHealth(cfg);
        const log = await ctx.records.read().catch(() => []);
        const lock = deployLockOf(log);
        const paused = pausedDeployOf(log, declaredOf(cfg));
        const weights: Record<string, number> = weightsOf(cfg.activeColor, cfg.traffic);
        const maintenance = cfg.maintenance ?? null;
        const inSync = balancer?.weights?.blue === weights.blue && balancer?.weights?.green === weights.green &&
            JSON.stringify(balancer?.maintenance ?? null) === JSON.stringify(maintenance);
        const servingOk = health.every((h) => h.healthy || weights[h.color] === 0);
        const retired = cfg.retired ? { color: cfg.retired, since: retiredSinceOf(log, cfg.retired) ?? null } : null;
        const retires = retireAt(cfg, declaredOf(cfg), log, new Date());
        const report = {
            stack: ctx.stack.name, url, activeColor: cfg.activeColor, traffic: weights,
            colours: Object.fromEntries(health.map((h) => [h.color, { version: h.version, healthy: h.healthy, reason: cfg.retired === h.color ? "retired" : h.reason, share: weights[h.color], retired: cfg.retired === h.color }])),
            retired, retireAt: retires?.toISOString() ?? null,
            balancer: balancer ?? "unreachable", balancerMatchesDeclared: inSync,
            maintenance, deployLock: lock ?? null,
            paused: paused ? { version: paused.version, color: paused.color, at: paused.at, remaining: paused.remaining, who: paused.who, since: paused.since } : null,
            schema: { database: out.schema, target: targetSchema(cfg) },
            retainedVersions: cfg.retainedVersions,
        };
        if (!ctx.json) {
            const routes = (b: Record<string, any>) => `${JSON.stringify(b.weights)}${b.maintenance ? " (maintenance)" : ""}`;
            const lines = [
                `stack ${ctx.stack.name}  ${url ?? "(not up)"}`,
                `  active ${cfg.activeColor} at ${cfg.traffic} %${cfg.traffic < 100 ? ` (shift in progress; ${otherColor(cfg.activeColor)} has ${100 - cfg.traffic} %)` : ""}`,
                ...health.map((h) => `  ${h.color.padEnd(5)}  ${h.version.padEnd(8)}  ${String(weights[h.color]).padStart(3)} %  ${cfg.retired === h.color
                    ? `retired${retired?.since ? ` since ${retired.since}` : ""} (stopped; its container and image kept: a rollback starts it again, slower than a switch)`
                    : h.healthy ? "healthy" : `UNHEALTHY: ${h.reason}`}`),
                ...(retires ? [`  ${otherColor(cfg.activeColor)} retires at ${retires.toISOString()} (retireAfterHours ${cfg.retireAfterHours}, while noteshub watch runs; now: noteshub retire)`] : []),
                ...(maintenance ? [`  MAINTENANCE: users get 503 "${maintenance.message}" (Retry-After ${maintenance.retryAfterSec} s); end it: noteshub maintenance off`] : []),
                ...(paused ? [`  PAUSED deploy of ${paused.version} at ${paused.at} % (by ${paused.who} since ${paused.since}; left: ${paused.remaining.join(" -> ")} %): noteshub promote, or noteshub abort`] : []),
                ...(lock ? [`  LOCKED for deploys by ${lock.who} since ${lock.since}: "${lock.reason}" (rollbacks run); noteshub unlock`] : []),
                `  balancer: ${balancer ? (inSync ? "routes as declared" : `routes ${routes(balancer)}, declared ${routes({ weights, maintenance })}: run pulumi up`) : "unreachable"}`,
                `  schema: ${out.schema ?? "?"} in the database, ${targetSchema(cfg)} needed by the running versions`,
                `  retained: ${retainedList(cfg).join(", ")} (current, previous, archived)`,
            ];
            process.stdout.write(lines.join("\n") + "\n");
        }
        return { ok: inSync && servingOk, json: report };
    },
};
