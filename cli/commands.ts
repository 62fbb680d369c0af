// The commands: each reads the declared state, plans its steps (plan.ts), and runs them (run.ts).
import { NAMESPACE, otherColor, retainedList, targetSchema, type NotesHubConfig } from "../infra/config";
import { RECHECK_MS, runGate } from "../infra/providers/healthGate";
import { applyState } from "../infra/providers/trafficState";
import { renderState, weightsOf } from "../infra/render/nginx";
import { connect } from "../infra/docker/engine";
import { liveWeights, shareOf } from "../infra/docker/live";
import { colorAddress, namesFor } from "../infra/names";
import { colourHealth } from "./health";
import { PlanError, planDeploy, planEmergency, planImmediate, planRevert, planRollbackTo, versionOf, type Declared, type Step } from "./plan";
import { restoreReleaseBackups } from "./restore";
import { cleanError, runSteps, TriggerFired, type Reporter, type RunOptions, type RunOutcome } from "./run";
import { Incident, notifierFor } from "./incident";
import { Watcher, type Watched } from "./monitor/watcher";
import type { Firing } from "./monitor/triggers";
import { BusyError } from "./lock";
import { watch } from "./watch";
import { drill } from "./drill/drill";
import type { LogEntry } from "./log";
import { declaredOf, history, openStack, outputs, readConfig, readConfigFile, writeChange, writeConfigFile, writeHistoric } from "./stack";
import { configOf, type Command, type Context, type Result } from "./context";
import { release } from "./release";

export type { Context, Result } from "./context";

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
    const outcome: RunOutcome = await runSteps(ctx.stack, cfg, declaredOf(cfg), steps, what, reporter(ctx), { pauseSec: Number(ctx.options.pause ?? 0), moveTraffic: (after) => switchNow(ctx, cfg, after), lockLost: ctx.lockLost, ...opts });
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
        if (cfg.environment === "production" && !cfg.app.build && !cfg.app.digests[version]) {
            throw new PlanError(`${version} has not been released (no ${NAMESPACE}:app.digests["${version}"]): production runs only released bytes; release it first: npm run noteshub -- release ${version} --stack ${ctx.stack.name}`);
        }
        const steps = String(ctx.options.steps ?? "10,25,50,100").split(",").map(Number);
        const schema = ctx.options.schema === undefined ? undefined : Number(ctx.options.schema);
        if (schema !== undefined && !(Number.isInteger(schema) && schema >= 0)) throw new PlanError(`--schema must be a migration number (0 or more), got ${ctx.options.schema}`);
        const watchSec = ctx.options.watch === undefined ? cfg.monitoring.watchSec : Number(ctx.options.watch);
        if (!(Number.isInteger(watchSec) && watchSec >= 0)) throw new PlanError(`--watch must be whole seconds (0 or more), got ${ctx.options.watch}`);
        const plan = planDeploy(declaredOf(cfg), version, { steps, schema });
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
            const back = otherColor(after.activeColor);
            incident = new Incident(ctx, cfg, notifier, watcher, f, from, { color: back, version: after[`${back}Version`] });
            incident.begin();
            throw new TriggerFired(f.trigger, f.reason);
        };
        try {
            const result = await execute(ctx, cfg, `deploy ${version}`, plan, {
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
            const restored = (result.json as RunOutcome).restored;
            incident?.end(restored?.ok === true, restored?.error);
            if (result.ok && !tookOver) ctx.say(watchSec > 0 ? `${version} has all traffic and held it for ${watchSec} s with the triggers armed; to keep watching: npm run noteshub -- watch --stack ${ctx.stack.name}` : `${version} has all traffic; it was not watched at 100 % (--watch 0): npm run noteshub -- watch --stack ${ctx.stack.name}`);
            return { ...result, json: { ...(result.json as object), trigger: incident ? { ...incident.firing, impact: incident.impact() } : null } };
        } finally {
            await watcher.stop();
            await notifier.flush(10_000);
        }
    },
};

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
    await runGate({ docker: cfg.docker, probeContainerId: lb.Id, color: target, host: colorAddress(names, target), port: cfg.app.port, version, container: names.of(target), settings: { ...cfg.healthGate, intervalMs: Math.min(cfg.healthGate.intervalMs, RECHECK_MS) } }, undefined, { running: true });
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
            const names = namesFor(cfg);
            const name = names.of(target);
            // A colour that serves is never restarted (INVARIANTS 4): during a shift the last known good colour still
            // has its share, and restarting it would drop its requests. The live state says, else the declared one.
            const share = shareOf(await liveWeights(docker, names.of("lb")).catch(() => null), target);
            if (share !== 0) {
                ctx.say(`emergency: ${name} (the last known good colour) ${share === null ? "may serve traffic (the balancer's state can't be read)" : `serves ${share} % of traffic`}, so it is not restarted; all traffic moves to it`);
            } else {
                ctx.say(`emergency: restarting ${name} (the last known good colour)`);
                await docker.getContainer(name).restart({ t: cfg.app.drainSec });
            }
            const result = await execute(ctx, cfg, "rollback --emergency", steps);
            if (!result.ok || !ctx.options["restore-data"]) return result;
            // What the release left behind changed: the migrations its version needs and the target's does not.
            const from = versionOf(d, otherColor(target));
            const plan = { after: cfg.schema[versionOf(d, target)] ?? 0, upTo: cfg.schema[from] ?? 0 };
            const restored = plan.upTo > plan.after ? await restoreReleaseBackups(cfg, plan) : [];
            const what = restored.length ? `restored ${restored.map((r) => `backup ${r.backup}`).join(", ")}` : "no backup to restore";
            ctx.log("step", what, true, { why: "--restore-data: the data is at fault", figures: { restored } });
            if (!restored.length) {
                ctx.say(plan.upTo > plan.after
                    ? `no backup taken by the migrations ${from} needs beyond ${versionOf(d, target)} (${plan.after + 1}-${plan.upTo}): the data was left as it is`
                    : `${from} needs no migration ${versionOf(d, target)} does not: no backup of its to restore; the data was left as it is`);
            }
            for (const r of restored) {
                ctx.say(`restored backup ${r.backup} (taken by migration ${r.migration} at ${r.createdAt}): ${r.documents} documents` +
                    (r.kept ? `; ${r.kept} written since were left as they are (${r.keptIds.join(", ")}${r.kept > r.keptIds.length ? ", ..." : ""})` : ""));
            }
            return { ok: true, json: { ...(result.json as object), restored } };
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
        const what = `revert to update ${position}`;
        ctx.say(`${what} (${new Date(entry.startTime).toISOString()}, ${entry.result})`);
        const cfg = await configOf(ctx);
        // The whole config of that update, then the declared keys as they run now: the plan's steps move those,
        // through the idle colour (issue #12). Bad input (it doesn't parse, or can't be reached safely) changes nothing.
        const before = readConfigFile(ctx.stack);
        let steps: Step[];
        let kept: string[];
        try {
            kept = await writeHistoric(ctx.stack, entry.config as never);
            steps = planRevert(declaredOf(cfg), declaredOf(await readConfig(ctx.stack)), what);
            await writeChange(ctx.stack, declaredOf(cfg));
        } catch (err) {
            writeConfigFile(ctx.stack, before);
            throw err;
        }
        if (kept.length) ctx.say(`kept as they are now (they hold secrets): ${kept.join(", ")}`);
        const result = await execute(ctx, cfg, what, steps);
        if (!result.ok) await revertBack(ctx, before, what);
        return result;
    },
};

/**
 * A revert that failed brought back that update's other settings (app.env, ...) too: the whole config goes back to
 * what ran before it, the way a revert goes (through the idle colour), from where the failed step left traffic.
 */
async function revertBack(ctx: Context, before: string, what: string): Promise<void> {
    const now = declaredOf(await readConfig(ctx.stack)); // what runs: the failed step's own restore wrote it
    writeConfigFile(ctx.stack, before);
    const cfg = await readConfig(ctx.stack);
    await writeChange(ctx.stack, now); // until the steps below move them, the colours and versions as they run
    let back: Step[];
    try {
        back = planRevert(now, declaredOf(cfg), `back to what ran before ${what}`);
    } catch (err) {
        ctx.say(`${what} failed; its other settings are back to what ran before, the colours and versions are declared as they run (${(err as Error).message}); run noteshub status`);
        return;
    }
    ctx.say(`${what} failed: back to what ran before it`);
    await execute(ctx, cfg, `back to what ran before ${what}`, back);
}

const log: Command = {
    changes: false,
    async run(ctx) {
        const entries = await ctx.records.read();
        const last = Number(ctx.options.last ?? 50);
        const shown = entries.slice(-last);
        if (!ctx.json) {
            process.stdout.write(shown.map((e) => `${e.time}  ${e.who}  ${e.ok ? "ok    " : "FAILED"}  ${e.event.padEnd(16)} ${e.what}${e.seconds !== undefined ? ` (${e.seconds.toFixed(1)} s)` : ""}${e.error ? `\n    ${e.error.split("\n")[0]}` : ""}`).join("\n") + (shown.length ? "\n" : `no entries in ${ctx.records.where}\n`));
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

export const commands = { status, release, deploy, rollback, history: historyCmd, revert, log, watch: watchCmd, drill: drillCmd } satisfies Record<string, Command>;

