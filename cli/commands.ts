// The commands: each reads the declared state, plans its steps (plan.ts), and runs them (run.ts).
import { otherColor, retainedList, targetSchema, type NotesHubConfig } from "../infra/config";
import { RECHECK_MS, runGate } from "../infra/providers/healthGate";
import { applyState } from "../infra/providers/lbConfig";
import { renderState, weightsOf } from "../infra/render/nginx";
import { connect } from "../infra/docker/engine";
import { colorAddress, namesFor } from "../infra/names";
import { colourHealth } from "./health";
import { PlanError, planDeploy, planEmergency, planImmediate, planRollbackTo, type Declared, type Step } from "./plan";
import { restoreNewestBackup } from "./restore";
import { runSteps, TriggerFired, type Reporter, type RunOptions, type RunOutcome } from "./run";
import { Incident, notifierFor } from "./incident";
import { Watcher, type Watched } from "./monitor/watcher";
import { watch } from "./watch";
import { drill } from "./drill/drill";
import { readLog, type LogEntry } from "./log";
import { declaredOf, history, openStack, outputs, readConfig, up, writeHistoric } from "./stack";

export interface Context {
    readonly stack: Awaited<ReturnType<typeof openStack>>;
    readonly args: string[];
    readonly options: Record<string, string | boolean | undefined>;
    readonly say: (text: string) => void;
    readonly json: boolean;
    /** Appends to the deployment log (commands that change the stack). */
    readonly log: (event: LogEntry["event"], what: string, ok: boolean, extra?: Partial<Pick<LogEntry, "why" | "seconds" | "figures" | "error">>) => void;
    readonly logFile: string;
    /** Where stack locks live (a command that acts later, like watch, takes the lock then). */
    readonly lockDir: string;
    /** Adjusts the config a command acts on without writing it (the drill's short monitoring windows). */
    readonly tune?: (cfg: NotesHubConfig) => NotesHubConfig;
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

interface Command {
    /** Changes the stack: takes the stack lock (and writes the deployment log). */
    readonly changes: boolean;
    /** Writes the deployment log without taking the lock for its whole run (watch: only while it rolls back). */
    readonly records?: boolean;
    run(ctx: Context): Promise<Result>;
}

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
async function execute(ctx: Context, cfg: NotesHubConfig, what: string, steps: Step[], opts: Omit<RunOptions, "pauseSec" | "moveTraffic"> = {}): Promise<Result> {
    const started = Date.now();
    ctx.say(`${what} on stack ${ctx.stack.name}: ${steps.length} step(s)`);
    ctx.log("command-started", `${what}: ${steps.map((s) => s.label).join("; ")}`, true, { figures: { declared: declaredOf(cfg) } });
    const outcome: RunOutcome = await runSteps(ctx.stack, cfg, declaredOf(cfg), steps, what, reporter(ctx), { pauseSec: Number(ctx.options.pause ?? 0), moveTraffic: (after) => switchNow(ctx, cfg, after), ...opts });
    const seconds = (Date.now() - started) / 1000;
    ctx.log("command-finished", what, outcome.ok, { seconds, figures: { steps: outcome.steps.length, restored: outcome.restored ?? null } });
    if (outcome.ok) ctx.say(`${what}: done in ${seconds.toFixed(1)} s`);
    else ctx.say(`${what}: FAILED; ${outcome.restored?.ok ? `restored (${outcome.restored.label})` : `restoring failed too: ${outcome.restored?.error ?? "?"}; run noteshub status`}`);
    return { ok: outcome.ok, json: { command: what, stack: ctx.stack.name, seconds, ...outcome } };
}

const status: Command = {
    changes: false,
    async run(ctx) {
        const cfg = await configOf(ctx);
        const out = await outputs(ctx.stack).catch(() => ({} as Record<string, unknown>));
        const url = typeof out.url === "string" ? out.url : undefined;
        let balancer: Record<string, any> | undefined;
        if (url) balancer = await fetch(`${url}/lb/status`).then((r) => r.json() as Promise<Record<string, any>>).catch(() => undefined);
        const health = await colourHealth(cfg);
        const weights: Record<string, number> = weightsOf(cfg.activeColor, cfg.traffic);
        const inSync = balancer?.weights?.blue === weights.blue && balancer?.weights?.green === weights.green;
        const servingOk = health.every((h) => h.healthy || weights[h.color] === 0);
        const report = {
            stack: ctx.stack.name, url, activeColor: cfg.activeColor, traffic: weights,
            colours: Object.fromEntries(health.map((h) => [h.color, { version: h.version, healthy: h.healthy, reason: h.reason, share: weights[h.color] }])),
            balancer: balancer ?? "unreachable", balancerMatchesDeclared: inSync,
            schema: { database: out.schema, target: targetSchema(cfg) },
            retainedVersions: cfg.retainedVersions,
        };
        if (!ctx.json) {
            const lines = [
                `stack ${ctx.stack.name}  ${url ?? "(not up)"}`,
                `  active ${cfg.activeColor} at ${cfg.traffic} %${cfg.traffic < 100 ? ` (shift in progress; ${otherColor(cfg.activeColor)} has ${100 - cfg.traffic} %)` : ""}`,
                ...health.map((h) => `  ${h.color.padEnd(5)}  ${h.version.padEnd(8)}  ${String(weights[h.color]).padStart(3)} %  ${h.healthy ? "healthy" : `UNHEALTHY: ${h.reason}`}`),
                `  balancer: ${balancer ? (inSync ? "routes as declared" : `routes ${JSON.stringify(balancer.weights)}, declared ${JSON.stringify(weights)}: run pulumi up`) : "unreachable"}`,
                `  schema: ${out.schema ?? "?"} in the database, ${targetSchema(cfg)} needed by the running versions`,
                `  retained: ${retainedList(cfg).join(", ")} (current, previous, archived)`,
            ];
            process.stdout.write(lines.join("\n") + "\n");
        }
        return { ok: inSync && servingOk, json: report };
    },
};

/** What the watcher watches for a declared state: the active colour, when it has a share. */
export const watchedOf = (d: Declared): Watched => ({
    live: d.traffic > 0 ? d.activeColor : undefined,
    versions: { blue: d.blueVersion, green: d.greenVersion },
    shares: weightsOf(d.activeColor, d.traffic),
});

const deploy: Command = {
    changes: true,
    async run(ctx) {
        const [version] = ctx.args;
        if (!version) throw new PlanError("deploy needs a version: noteshub deploy v1.2.3");
        const cfg = await configOf(ctx);
        const steps = String(ctx.options.steps ?? "10,25,50,100").split(",").map(Number);
        const schema = ctx.options.schema === undefined ? undefined : Number(ctx.options.schema);
        if (schema !== undefined && !(Number.isInteger(schema) && schema >= 0)) throw new PlanError(`--schema must be a migration number (0 or more), got ${ctx.options.schema}`);
        const plan = planDeploy(declaredOf(cfg), version, { steps, schema });
        const notifier = notifierFor(ctx, cfg);
        // Between traffic steps the new colour is watched (runbook: "Monitor metrics and errors"): a trigger fails
        // the step, and the step's restore sends traffic back; the figures come from the balancer's log.
        const watcher = new Watcher(cfg, { ...watchedOf(declaredOf(cfg)), live: undefined });
        await watcher.start();
        let incident: Incident | undefined;
        const stepSec = cfg.monitoring.stepSec;
        try {
            const result = await execute(ctx, cfg, `deploy ${version}`, plan, {
                bake: async (after) => {
                    watcher.update(watchedOf(after));
                    ctx.say(`    watching ${after.activeColor} (${after[`${after.activeColor}Version`]}) at ${after.traffic} % for ${stepSec} s; rollback triggers armed`);
                    const f = await watcher.watchFor(stepSec * 1000);
                    if (!f) return;
                    const from = { color: after.activeColor, version: after[`${after.activeColor}Version`] };
                    const back = otherColor(after.activeColor);
                    incident = new Incident(ctx, cfg, notifier, watcher, f, from, { color: back, version: after[`${back}Version`] });
                    incident.begin();
                    throw new TriggerFired(f.trigger, f.reason);
                },
            });
            const restored = (result.json as RunOutcome).restored;
            incident?.end(restored?.ok === true, restored?.error);
            if (result.ok) ctx.say(`${version} has all traffic; the runbook watches it 15-30 minutes: npm run noteshub -- watch --stack ${ctx.stack.name}`);
            return { ...result, json: { ...(result.json as object), trigger: incident ? { ...incident.firing, impact: incident.impact() } : null } };
        } finally {
            await watcher.stop();
            await notifier.flush(10_000);
        }
    },
};

/**
 * The immediate rollback's fast path (runbook: "switch traffic back", seconds): once the config declares the other
 * colour, the balancer switches as soon as that colour passes the gate's own check (same streak, RECHECK_MS apart),
 * with the state the program renders for that config; the `pulumi up` that follows records it and finds it in place.
 */
async function switchNow(ctx: Context, cfg: NotesHubConfig, after: Declared): Promise<void> {
    const names = namesFor(cfg);
    const target = after.activeColor;
    const version = after[`${target}Version`];
    const lb = await connect(cfg.docker).getContainer(names.of("lb")).inspect();
    await runGate({ docker: cfg.docker, probeContainerId: lb.Id, color: target, host: colorAddress(names, target), port: cfg.app.port, version, container: names.of(target), settings: { ...cfg.healthGate, intervalMs: Math.min(cfg.healthGate.intervalMs, RECHECK_MS) } });
    await applyState({ docker: cfg.docker, containerId: lb.Id, state: renderState({ stack: names.prefix, active: target, traffic: after.traffic, versions: { blue: after.blueVersion, green: after.greenVersion } }) });
    ctx.say(`traffic is on ${target} (${version}); recording it with pulumi up`);
}

const rollback: Command = {
    changes: true,
    async run(ctx) {
        const cfg = await configOf(ctx);
        const d = declaredOf(cfg);
        if (ctx.options.emergency) {
            const { target, steps } = planEmergency(d);
            const docker = connect(cfg.docker);
            const name = namesFor(cfg).of(target);
            ctx.say(`emergency: restarting ${name} (the last known good colour)`);
            await docker.getContainer(name).restart({ t: 5 });
            const result = await execute(ctx, cfg, "rollback --emergency", steps);
            if (!result.ok || !ctx.options["restore-data"]) return result;
            const restored = await restoreNewestBackup(cfg);
            ctx.log("step", restored ? `restored backup ${restored.backup}` : "no backup to restore", true, { why: "--restore-data: the data is at fault", figures: { restored: restored ?? null } });
            ctx.say(restored ? `restored backup ${restored.backup} (taken by migration ${restored.migration} at ${restored.createdAt}): ${restored.documents} documents` : "no migration backup to restore: the data was left as it is");
            return { ok: true, json: { ...(result.json as object), restored: restored ?? null } };
        }
        if (typeof ctx.options.to === "string") return execute(ctx, cfg, `rollback --to ${ctx.options.to}`, planRollbackTo(d, ctx.options.to));
        return execute(ctx, cfg, "rollback", planImmediate(d), { fastSteps: true });
    },
};

interface HistoryRow {
    position: number;
    startTime: string;
    seconds: number;
    kind: string;
    result: string;
    activeColor?: string;
    traffic: number;
    blueVersion?: string;
    greenVersion?: string;
    message: string;
}

async function historyRows(ctx: Context): Promise<HistoryRow[]> {
    const entries = await history(ctx.stack);
    return entries.map((h, i) => {
        const v = (k: string) => h.config?.[`noteshub:${k}`]?.value;
        return {
            position: i + 1,
            startTime: new Date(h.startTime).toISOString(),
            seconds: (new Date(h.endTime).getTime() - new Date(h.startTime).getTime()) / 1000,
            kind: h.kind, result: h.result,
            activeColor: v("activeColor"), traffic: Number(v("traffic") ?? 100),
            blueVersion: v("blueVersion"), greenVersion: v("greenVersion"),
            message: h.message ?? "",
        };
    });
}

const historyCmd: Command = {
    changes: false,
    async run(ctx) {
        const rows = await historyRows(ctx);
        if (!ctx.json) {
            const lines = rows.map((r) => `${String(r.position).padStart(3)}  ${r.startTime}  ${r.kind.padEnd(7)} ${r.result.padEnd(9)} ${String(r.activeColor).padEnd(5)} ${String(r.traffic).padStart(3)} %  blue ${r.blueVersion}  green ${r.greenVersion}  ${r.message}`);
            process.stdout.write(`  #  started                   kind    result    live  share  versions  message\n${lines.join("\n")}\n`);
        }
        return { ok: true, json: rows };
    },
};

const revert: Command = {
    changes: true,
    async run(ctx) {
        const position = Number(ctx.args[0]);
        const entries = await history(ctx.stack);
        if (!Number.isInteger(position) || position < 1 || position > entries.length) {
            throw new PlanError(`revert needs an update's position from noteshub history (1 = newest, up to ${entries.length}), got ${JSON.stringify(ctx.args[0] ?? "")}`);
        }
        const entry = entries[position - 1];
        if (entry.kind !== "update") throw new PlanError(`update ${position} is a ${entry.kind}, not an update; pick an update from noteshub history`);
        ctx.say(`revert to update ${position} (${new Date(entry.startTime).toISOString()}, ${entry.result})`);
        const started = Date.now();
        ctx.log("command-started", `revert to update ${position} (${new Date(entry.startTime).toISOString()})`, true, { figures: { update: { position, startTime: entry.startTime, result: entry.result, message: entry.message } } });
        const kept = await writeHistoric(ctx.stack, entry.config as never);
        if (kept.length) ctx.say(`kept as they are now (they hold secrets): ${kept.join(", ")}`);
        const cfg = await readConfig(ctx.stack); // the reverted config must parse, or nothing runs
        try {
            const r = await up(ctx.stack, `noteshub revert ${position}`, (l) => /\(\d+s\)/.test(l) && ctx.say(`    ${l.trim()}`));
            ctx.say(`revert: done in ${((Date.now() - started) / 1000).toFixed(1)} s (${r.summary})`);
            ctx.log("command-finished", `revert to update ${position}`, true, { seconds: (Date.now() - started) / 1000, figures: { changes: r.summary, declared: declaredOf(cfg) } });
            return { ok: true, json: { ok: true, command: `revert ${position}`, declared: declaredOf(cfg), seconds: (Date.now() - started) / 1000 } };
        } catch (err) {
            ctx.log("command-finished", `revert to update ${position}`, false, { seconds: (Date.now() - started) / 1000, error: (err as Error).message.slice(0, 2000) });
            throw new Error(`revert to update ${position}: pulumi up failed; the config now declares that update (see git diff Pulumi.${ctx.stack.name}.yaml): ${(err as Error).message}`);
        }
    },
};

const log: Command = {
    changes: false,
    async run(ctx) {
        const entries = readLog(ctx.logFile);
        const last = Number(ctx.options.last ?? 50);
        const shown = entries.slice(-last);
        if (!ctx.json) {
            process.stdout.write(shown.map((e) => `${e.time}  ${e.who}  ${e.ok ? "ok    " : "FAILED"}  ${e.event.padEnd(16)} ${e.what}${e.seconds !== undefined ? ` (${e.seconds.toFixed(1)} s)` : ""}${e.error ? `\n    ${e.error.split("\n")[0]}` : ""}`).join("\n") + (shown.length ? "\n" : `no entries in ${ctx.logFile}\n`));
        }
        return { ok: true, json: shown };
    },
};

const watchCmd: Command = {
    changes: false,
    records: true,
    run: (ctx) => watch(ctx, execute),
};

const drillCmd: Command = {
    changes: true,
    run: (ctx) => drill(ctx, { deploy: deploy.run, rollback: rollback.run }),
};

export const commands = { status, deploy, rollback, history: historyCmd, revert, log, watch: watchCmd, drill: drillCmd } satisfies Record<string, Command>;

