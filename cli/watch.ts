// noteshub watch: the runbook's "Monitor" step (watch 15-30 minutes after a deploy) as a command or a service.
// It prints both colours' figures and levels, serves them as Prometheus text (--metrics-port), follows what the
// balancer routes, and when a trigger fires on the live colour it rolls back the way `noteshub rollback` does
// (stack config, fast switch, `pulumi up`), so what runs and what is declared never diverge (INVARIANTS 3).
// One incident, one rollback: a fired trigger stays fired for that release, and a colour the watcher rolled back
// from is never sent traffic again by the watcher (no ping-pong between two bad releases: a human decides).
import { createServer, type Server } from "node:http";
import { otherColor, type NotesHubConfig } from "../infra/config";
import { connect } from "../infra/docker/engine";
import { readFileIn, STATE_FILE } from "../infra/docker/live";
import { namesFor } from "../infra/names";
import { configOf, type Context, type Result } from "./context";
import { rollbackHooks } from "./hooks";
import { Incident, notifierFor } from "./incident";
import { BusyError } from "./lock";
import { movesColours, type LogEntry } from "./log";
import type { Notifier } from "./notify";
import { renderPrometheus } from "./monitor/prometheus";
import type { Snapshot } from "./monitor/snapshot";
import type { Firing } from "./monitor/triggers";
import { Watcher, type Watched } from "./monitor/watcher";
import { PlanError, planImmediate } from "./plan";
import { retireWhenDue } from "./retire";
import { declaredOf } from "./stack";

/** How often watch looks whether the idle colour is due to retire (retireAfterHours). */
const RETIRE_CHECK_MS = 5000;

export interface Execute {
    (ctx: Context, cfg: NotesHubConfig, what: string, steps: ReturnType<typeof planImmediate>, opts: { fastSteps: boolean }): Promise<Result>;
}

/** One line per snapshot: the live colour first. */
export function snapshotLine(s: Snapshot): string {
    const colour = (c: "blue" | "green") => {
        const x = s.colours[c];
        const f = x.figures;
        return `${c} ${x.version} ${x.share}% ${f.rate.toFixed(1)} req/s err ${f.errorRate.toFixed(1)}% (${x.levels.errorRate}) p95 ${f.p95Ms === undefined ? "-" : `${Math.round(f.p95Ms)} ms`} (${x.levels.p95}) health ${x.healthy === undefined ? "?" : x.healthy ? "ok" : "FAILING"}`;
    };
    const order: ("blue" | "green")[] = s.live === "green" ? ["green", "blue"] : ["blue", "green"];
    const db = s.database;
    return `${order.map(colour).join(" | ")} | db ${db.up ? `up, query ${db.avgQueryMs === undefined ? "-" : `${db.avgQueryMs.toFixed(1)} ms`}` : `DOWN (${db.error ?? "no answer yet"})`} (${db.level})`;
}

/** What the balancer routes by now (its state file), as the watcher's input. */
async function routed(cfg: NotesHubConfig): Promise<Watched | undefined> {
    const text = await readFileIn(connect(cfg.docker), namesFor(cfg).of("lb"), STATE_FILE).catch(() => undefined);
    if (text === undefined) return undefined;
    try {
        const st = JSON.parse(text) as { active: "blue" | "green"; traffic: number; weights: Record<"blue" | "green", number>; versions: Record<"blue" | "green", string> };
        return { live: st.traffic > 0 ? st.active : undefined, versions: st.versions, shares: st.weights };
    } catch {
        return undefined;
    }
}

/**
 * Colours (colour@version) an automatic rollback left since an operator last acted (any command but watch): the
 * watcher never sends traffic back to one. An operator's deploy or rollback is a human decision: the slate is clean.
 */
export function rolledBackFrom(entries: readonly LogEntry[]): Set<string> {
    const left = new Set<string>();
    for (const e of entries) {
        // Only a command that moves colours is an operator deciding (maintenance or a lock is not).
        if (movesColours(e) && !e.command.startsWith("watch")) left.clear();
        if (e.event === "trigger" && e.ok && e.figures?.rolledBackFrom) left.add(String(e.figures.rolledBackFrom));
    }
    return left;
}

async function lockWhenFree(ctx: Context, waitSec: number) {
    const until = Date.now() + waitSec * 1000;
    for (;;) {
        try {
            return await ctx.lock(`watch: automatic rollback`);
        } catch (err) {
            if (!(err instanceof BusyError) || Date.now() > until) throw err;
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
}

export async function autoRollback(ctx: Context, execute: Execute, notifier: Notifier, watcher: Watcher, f: Firing, live: { color: "blue" | "green"; version: string }): Promise<{ ok: boolean; what: string }> {
    const lock = await lockWhenFree(ctx, 120);
    // The hooks end after the lock is let go: a slow one never holds the stack from the rest of the rota.
    let hooks: () => Promise<unknown> = async () => undefined;
    try {
        const cfg = await configOf(ctx);
        const d = declaredOf(cfg);
        const why = `rollback trigger ${f.trigger}: ${f.reason}`;
        const tctx: Context = { ...ctx, log: (e, w, ok, extra = {}) => ctx.log(e, w, ok, { why, ...extra }) };
        if (d.activeColor !== live.color || d[`${live.color}Version`] !== live.version || d.traffic === 0) {
            tctx.log("trigger", `${f.trigger} on ${live.color} (${live.version}): already rolled back (the config now declares ${d.activeColor} at ${d.traffic} %)`, true, { figures: { ...f.figures, handled: "elsewhere" } });
            return { ok: true, what: "already handled" };
        }
        const back = otherColor(live.color);
        const to = { color: back, version: d[`${back}Version`] };
        if (rolledBackFrom(await ctx.records.read()).has(`${to.color}@${to.version}`)) {
            const what = `${f.trigger} on ${live.color} (${live.version}), but ${to.color} (${to.version}) was rolled back from earlier: no automatic rollback, a human decides (noteshub rollback --to <version> or --emergency)`;
            ctx.say(`TRIGGER ${what}`);
            tctx.log("trigger", what, false, { figures: { ...f.figures, trigger: f.trigger } });
            notifier.send({ kind: "rollback-failed", stack: ctx.stack.name, from: live.version, to: to.version, reason: f.reason, status: `not rolled back automatically: ${to.color} (${to.version}) was rolled back from earlier` });
            return { ok: false, what };
        }
        const incident = new Incident(tctx, cfg, notifier, watcher, f, live, to);
        incident.begin();
        const facts = { command: `rollback (trigger ${f.trigger})`, kind: "trigger", trigger: f.trigger, reason: f.reason, from: { ...live, traffic: d.traffic }, to };
        const running = rollbackHooks(tctx, cfg, facts);
        const r = await execute(tctx, cfg, `rollback (trigger ${f.trigger})`, planImmediate(d), { fastSteps: true });
        const failed = (r.json as { steps?: { error?: string }[] }).steps?.find((s) => s.error)?.error;
        incident.end(r.ok, failed);
        hooks = () => running.done(r.ok);
        return { ok: r.ok, what: `rolled back ${live.color} (${live.version}) to ${to.color} (${to.version})${r.ok ? "" : `: FAILED: ${failed}`}` };
    } finally {
        await lock.release();
        await hooks();
    }
}

export async function watch(ctx: Context, execute: Execute): Promise<Result> {
    let cfg = await configOf(ctx);
    const forSec = ctx.options.for === undefined ? cfg.monitoring.watchSec : Number(ctx.options.for);
    if (!Number.isInteger(forSec) || forSec < 0) throw new PlanError(`--for must be whole seconds (0: until stopped), got ${ctx.options.for}`);
    const everySec = Number(ctx.options.every ?? 10);
    if (!(everySec > 0)) throw new PlanError(`--every must be seconds, got ${ctx.options.every}`);
    const port = ctx.options["metrics-port"] === undefined ? undefined : Number(ctx.options["metrics-port"]);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new PlanError(`--metrics-port must be a port, got ${ctx.options["metrics-port"]}`);
    const notifier = notifierFor(ctx, cfg);
    const started = Date.now();
    let printed = 0;
    const timeline: Snapshot[] = [];
    const watcher = new Watcher(cfg, (await routed(cfg)) ?? { versions: { blue: cfg.blueVersion, green: cfg.greenVersion }, shares: { blue: 0, green: 0 } }, {
        onSnapshot: (s) => {
            timeline.push(s);
            if (s.at - printed >= everySec * 1000) {
                printed = s.at;
                ctx.say(snapshotLine(s));
            }
        },
    });
    await watcher.start();
    let server: Server | undefined;
    if (port !== undefined) {
        server = createServer((req, res) => {
            if (req.url !== "/metrics") return void res.writeHead(404).end("see /metrics\n");
            res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderPrometheus(watcher.last ?? watcher.snapshot()));
        });
        await new Promise<void>((resolve, reject) => server!.once("error", reject).listen(port, "127.0.0.1", resolve));
        ctx.say(`Prometheus metrics on http://127.0.0.1:${port}/metrics`);
    }
    // Follow what the balancer routes (another operator may deploy or roll back meanwhile).
    const follow = setInterval(() => void routed(cfg).then((w) => w && watcher.update(w)), 2000);
    ctx.log("command-started", `watch ${forSec ? `${forSec} s` : "until stopped"}`, true, { figures: { monitoring: cfg.monitoring } });
    ctx.say(`watching stack ${ctx.stack.name} ${forSec ? `for ${forSec} s` : "until stopped"}; rollback triggers armed on the live colour`);
    const deadline = forSec ? started + forSec * 1000 : Infinity;
    const actions: { at: string; trigger: Firing; ok: boolean; what: string }[] = [];
    let stop = false;
    const onSignal = () => (stop = true);
    // `on`, not `once`: the Automation API's child-process cleanup (signal-exit) re-raises a signal that has no other
    // listener when it runs, which killed a watch stopped after a rollback before it could print its report.
    process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
    // retireAfterHours: checked every RETIRE_CHECK_MS; a failed retire is not tried again by this watch (it said why).
    let retireCheck = 0;
    let retiring = cfg.retireAfterHours !== undefined;
    const retireSeen = { cfg, logLength: -1 };
    const said = new Set<string>();
    try {
        let seen: Firing | undefined;
        while (!stop && Date.now() < deadline) {
            const f = await watcher.watchFor(Math.min(deadline - Date.now(), 1000), seen);
            if (!f && retiring && Date.now() >= retireCheck) {
                retireCheck = Date.now() + RETIRE_CHECK_MS;
                const r = await retireWhenDue(ctx, retireSeen, new Date(started)).catch((err: Error) => (ctx.say(`retire: ${err.message.split("\n")[0]}`), "failed" as const));
                if (r === "failed") {
                    retiring = false;
                    ctx.say("retire failed (above); this watch won't try again: run noteshub retire when the cause is fixed");
                }
                if ((r === "locked" || r === "busy") && !said.has(r)) {
                    said.add(r);
                    ctx.say(r === "locked" ? "the idle colour is due to retire, but deploys are locked (noteshub lock): it waits for unlock" : "the idle colour is due to retire, but another command holds the stack: trying again shortly");
                }
            }
            if (!f) continue;
            seen = f;
            const w = watcher.watching;
            let r: { ok: boolean; what: string };
            try {
                r = await autoRollback(ctx, execute, notifier, watcher, f, { color: w.live!, version: w.versions[w.live!] });
            } catch (err) {
                // e.g. a deploy held the stack all along: it watches its own steps and rolls back on its own.
                r = { ok: false, what: `${f.trigger} on ${w.live}: could not roll back: ${(err as Error).message.split("\n")[0]}` };
                ctx.say(`TRIGGER ${r.what}`);
                ctx.log("trigger", r.what, false, { why: f.reason, figures: { ...f.figures, trigger: f.trigger } });
            }
            actions.push({ at: new Date().toISOString(), trigger: f, ...r });
            cfg = await configOf(ctx);
            const now = await routed(cfg);
            if (now) watcher.update(now);
        }
    } finally {
        clearInterval(follow);
        process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
        server?.close();
        await watcher.stop();
        await notifier.flush(10_000);
    }
    const seconds = (Date.now() - started) / 1000;
    const ok = actions.every((a) => a.ok);
    ctx.log("command-finished", `watch (${actions.length} automatic rollback${actions.length === 1 ? "" : "s"})`, ok, { seconds, figures: { actions: actions.map((a) => a.what) } });
    return { ok, json: { command: "watch", stack: ctx.stack.name, seconds, actions, last: watcher.last ?? null, timeline: ctx.options.timeline ? timeline : undefined } };
}
