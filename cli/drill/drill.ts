// noteshub drill: the runbook's monthly rollback drill on staging, end to end, under synthetic load:
//   1. a release that fails health: the gate must block it (no user request reaches it);
//   2. a release that passes health but answers users 20 % errors: the triggers must roll it back;
//   3. the release without the fault: deployed 10 -> 100 %;  4. immediate rollback;
//   5. the release again, then a standard rollback (--to the good version: the downs run);
// then the stack is put back as it was, and health and data are verified: document and upload counts before and
// after, and the drill's own notes (made before step 1) found by id. It writes drill.md, drill.json and drill.svg.
// Monitoring windows are the drill's own (--window, seconds), never written to the stack's config.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NAMESPACE, otherColor, type Color, type NotesHubConfig } from "../../infra/config";
import { connect, execIn } from "../../infra/docker/engine";
import { namesFor } from "../../infra/names";
import type { Context, Result } from "../context";
import { colourHealth } from "../health";
import { Watcher } from "../monitor/watcher";
import { PlanError } from "../plan";
import { declaredOf, outputs, readConfig, up, writeChange } from "../stack";
import { renderMarkdown, renderSvg, type Counts, type DrillReport, type DrillStep, type Mark, type Point } from "./report";
import { SyntheticLoad } from "./load";
import { DatabaseProbe } from "../monitor/database";

type Run = (ctx: Context) => Promise<Result>;

export function drillTuning(windowSec: number) {
    return (c: NotesHubConfig): NotesHubConfig => ({
        ...c,
        monitoring: {
            ...c.monitoring,
            windowSec, minRequests: 5, stepSec: windowSec * 2, watchSec: windowSec * 2, statusEverySec: windowSec,
            triggers: { ...c.monitoring.triggers, errorRate: { ...c.monitoring.triggers.errorRate, forSec: windowSec }, p95: { ...c.monitoring.triggers.p95, forSec: windowSec }, health: { ...c.monitoring.triggers.health, intervalSec: 1 } },
        },
    });
}

async function counts(cfg: NotesHubConfig, ids: string[]): Promise<Counts & { found: number }> {
    const probe = new DatabaseProbe(cfg);
    try {
        const db = await probe.database();
        const { ObjectId } = await import("mongodb");
        const notes = db.collection("notes");
        const documents = await notes.countDocuments({});
        const found = await notes.countDocuments({ _id: { $in: ids.map((i) => new ObjectId(i)) } });
        const r = await execIn(connect(cfg.docker), namesFor(cfg).of(cfg.activeColor), ["sh", "-c", "find /app/uploads/notes -type f | wc -l"]);
        return { documents, uploads: Number(r.stdout.trim()), found };
    } finally {
        await probe.close();
    }
}

/** The release's extra environment (app.envByVersion[version]); undefined removes it, and an emptied map too. */
async function setReleaseEnv(ctx: Context, original: NotesHubConfig, version: string, env: Record<string, string> | undefined): Promise<void> {
    const others = Object.keys(original.app.envByVersion).filter((v) => v !== version);
    const key = env === undefined && others.length === 0 ? `${NAMESPACE}:app.envByVersion` : `${NAMESPACE}:app.envByVersion["${version}"]`;
    await ctx.stack.stack.removeConfig(key, true).catch(() => undefined);
    for (const [k, v] of Object.entries(env ?? {})) await ctx.stack.stack.setConfig(`${NAMESPACE}:app.envByVersion["${version}"].${k}`, { value: v }, true);
}

export async function drill(ctx: Context, run: { deploy: Run; rollback: Run }): Promise<Result> {
    const windowSec = Number(ctx.options.window ?? 5);
    if (!(Number.isInteger(windowSec) && windowSec >= 1 && windowSec <= 300)) throw new PlanError(`--window must be whole seconds 1-300, got ${ctx.options.window}`);
    const clients = Number(ctx.options.clients ?? 8);
    if (!(Number.isInteger(clients) && clients >= 1 && clients <= 200)) throw new PlanError(`--clients must be 1-200 synthetic users, got ${ctx.options.clients}`);
    const tune = drillTuning(windowSec);
    const original = await readConfig(ctx.stack);
    const cfg = tune(original);
    if (cfg.environment === "production") throw new PlanError(`the drill deploys broken releases on purpose: it runs on staging stacks only (${ctx.stack.name} is production)`);
    const d0 = declaredOf(cfg);
    if (d0.traffic !== 100) throw new PlanError(`a shift is in progress (${d0.activeColor} at ${d0.traffic} %); finish it or roll back before a drill`);
    const goodColor: Color = d0.activeColor;
    const idle = otherColor(goodColor);
    const good = d0[`${goodColor}Version`];
    const release = d0[`${idle}Version`];
    if (good === release) throw new PlanError(`both colours run ${good}; the drill needs the idle colour on another retained version (noteshub rollback --to <version> or set ${idle}Version)`);
    const savedEnv = original.app.envByVersion[release];
    const out = await outputs(ctx.stack);
    const url = String(out.url ?? "");
    if (!url) throw new PlanError(`stack ${ctx.stack.name} is not up (no url output); run npm run up first`);
    const outDir = String(ctx.options.out ?? join(ctx.records.localDir, "drills", `${ctx.stack.name}-${new Date().toISOString().replace(/[:.]/g, "-")}`));

    const started = Date.now();
    // The drill keeps the stack for its whole run: its deploys never let go of the lock while they watch.
    const sub = (args: string[], options: Record<string, string | boolean>): Context => ({ ...ctx, args, options, tune, json: true, say: (t) => ctx.say(`  ${t}`), pauseLock: undefined });
    ctx.say(`drill on ${ctx.stack.name}: good ${good} on ${goodColor}, release ${release} on ${idle}; windows ${windowSec} s`);
    ctx.log("command-started", `drill: good ${good} (${goodColor}), release ${release} (${idle})`, true, { figures: { declared: d0, windowSec } });

    // What runs must be what is declared before anything is measured (a changed image would otherwise be replaced
    // under the drill's load, and its dropped requests blamed on a step).
    ctx.say("converging the stack first (pulumi up)");
    await up(ctx.stack, "noteshub drill: converge before the drill", () => undefined);

    // The drill's own notes, with an upload each: they must survive every rollback.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
        const note = await fetch(`${url}/api/notes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: `drill ${new Date().toISOString()} #${i}`, department: "drill" }) }).then((r) => r.json() as Promise<{ _id: string }>);
        await fetch(`${url}/api/notes/${note._id}/file?name=drill-${i}.txt`, { method: "PUT", headers: { "content-type": "text/plain" }, body: `drill upload ${i}\n` });
        ids.push(note._id);
    }
    const before = await counts(cfg, ids);

    const timeline: Point[] = [];
    const marks: Mark[] = [];
    const mark = (label: string) => marks.push({ t: (Date.now() - started) / 1000, label });
    const watcher = new Watcher(cfg, { versions: { blue: cfg.blueVersion, green: cfg.greenVersion }, shares: { blue: 0, green: 0 } }, {
        onSnapshot: (s) => {
            // A whole second, 3 s back: the balancer flushes its log each second, so the newest second is incomplete.
            const second = Math.floor(s.at / 1000) - 3;
            const per = (c: Color) => {
                const f = watcher.traffic.colours[c].figures(second * 1000 + 999, 1);
                return { rate: f.requests, errors: f.failed, p95Ms: f.p95Ms };
            };
            if (second * 1000 >= started) timeline.push({ t: (second * 1000 - started) / 1000, blue: per("blue"), green: per("green") });
        },
    });
    await watcher.start();
    const load = new SyntheticLoad(url, clients);
    load.start();
    const steps: DrillStep[] = [];
    const lastOn = (color: string, from: number, to: number) => load.between(from, to).reduce((last, h) => (h.color === color && h.at > last ? h.at : last), 0);
    const record = (name: string, expected: string, t0: number, passed: boolean, outcome: string, extra: Partial<DrillStep> = {}) => {
        const hits = load.between(t0, Date.now());
        const step: DrillStep = { name, expected, passed, outcome, startedAt: t0, endedAt: Date.now(), requests: hits.length, failed: hits.filter((h) => !h.ok).length, ...extra };
        steps.push(step);
        ctx.say(`${passed ? "PASS" : "FAIL"} ${name}: ${outcome} (${step.failed} of ${step.requests} requests failed)`);
        ctx.log("step", `drill: ${name}: ${outcome}`, passed, { why: expected, figures: { ...step } });
    };
    const clean = (from: number) => load.between(from, Date.now()).every((h) => h.ok);
    try {
        await new Promise((r) => setTimeout(r, 2000)); // a baseline on the good colour

        // 1. Fails health: the gate blocks it.
        let t0 = Date.now();
        mark("1 bad health");
        await setReleaseEnv(ctx, original, release, { NOTESHUB_FAIL_HEALTH: "1" });
        let r = await run.deploy(sub([release], { steps: "10,100" }));
        const j = r.json as { steps?: { ok: boolean; seconds: number; error?: string }[]; restored?: { ok: boolean } };
        const served = load.between(t0, Date.now()).filter((h) => h.color === idle).length;
        const failedStep = j.steps?.find((s) => !s.ok);
        const detectSec = failedStep?.seconds;
        // Withdraw it (its colour stays broken otherwise, and every later up would fail on its gate).
        await setReleaseEnv(ctx, original, release, savedEnv);
        const withdrawn = await up(ctx.stack, "noteshub drill: withdraw the release failing health", () => undefined).then(() => true, () => false);
        record("release failing health", "the gate blocks it; no user request reaches it or fails", t0, !r.ok && served === 0 && clean(t0) && /health gate/.test(failedStep?.error ?? "") && withdrawn,
            `${r.ok ? "deployed!" : `blocked: ${(failedStep?.error ?? "").split("\n").find((l) => /health gate/.test(l))?.trim().replace(/^error: /, "").replace(/; body: .*$/, "") ?? "failed"}`}; ${served} requests reached ${idle}${withdrawn ? "" : "; withdrawing it failed"}`, { detectSec });

        // 2. Healthy but answering errors: the triggers roll it back.
        t0 = Date.now();
        mark("2 errors");
        await setReleaseEnv(ctx, original, release, { NOTESHUB_USER_ERROR_RATE: "0.2" });
        r = await run.deploy(sub([release], {}));
        const trig = (r.json as { trigger?: { trigger: string; firstBadAt: number; firedAt: number; reason: string } }).trigger;
        const back = lastOn(idle, t0, Date.now());
        if (trig) marks.push({ t: (trig.firedAt - started) / 1000, label: `trigger: ${trig.trigger}` });
        record("release answering 20 % errors", "the error-rate trigger rolls it back", t0, !r.ok && trig?.trigger === "error-rate" && (r.json as typeof j).restored?.ok === true,
            trig ? `rolled back: ${trig.reason}` : r.ok ? "not rolled back" : "failed without a trigger",
            { detectSec: trig && (trig.firedAt - trig.firstBadAt) / 1000, recoverSec: trig && back ? (back - trig.firstBadAt) / 1000 : undefined });

        // 3. The release without the fault.
        t0 = Date.now();
        mark("3 deploy");
        await setReleaseEnv(ctx, original, release, savedEnv);
        r = await run.deploy(sub([release], {}));
        record("healthy release", "10 -> 25 -> 50 -> 100 %, no failed request", t0, r.ok && clean(t0), r.ok ? `${release} live on ${idle}` : "deploy failed");

        // 4. Immediate rollback.
        t0 = Date.now();
        mark("4 immediate");
        r = await run.rollback(sub([], {}));
        record("immediate rollback", `all traffic back to ${goodColor} (${good}) in seconds, no failed request`, t0, r.ok && clean(t0), r.ok ? `${good} live on ${goodColor}` : "rollback failed", { recoverSec: Math.max(0, lastOn(idle, t0, Date.now()) - t0) / 1000 });

        // 5. Standard rollback (after the release is live again).
        mark("5 standard");
        r = await run.deploy(sub([release], { steps: "100" }));
        t0 = Date.now();
        const r2 = r.ok ? await run.rollback(sub([], { to: good })) : r;
        record("standard rollback", `--to ${good}: traffic to ${goodColor}, downs run, no failed request`, t0, r.ok && r2.ok && clean(t0), r.ok ? (r2.ok ? `${good} live; schema back to ${cfg.schema[good] ?? 0}` : "rollback failed") : "redeploy failed", { recoverSec: Math.max(0, lastOn(idle, t0, Date.now()) - t0) / 1000 });
    } finally {
        // Back as it was: the declared state and the release's environment, applied.
        mark("restore");
        try {
            await setReleaseEnv(ctx, original, release, savedEnv);
            await writeChange(ctx.stack, d0);
            await up(ctx.stack, "noteshub drill: back to the state before the drill", () => undefined);
        } catch (err) {
            ctx.say(`could not put the stack back: ${(err as Error).message.split("\n")[0]}; run noteshub status`);
        }
        await new Promise((r) => setTimeout(r, 4000)); // the timeline lags 3 s
        await load.stop();
        await watcher.stop();
    }
    const after = await counts(cfg, ids);
    const health = await colourHealth({ ...cfg, ...d0 });
    // A colour retired before the drill is put back retired (stopped): that is no failure.
    const fine = (h: (typeof health)[number]) => h.healthy || h.color === d0.retired;
    const healthAfter = health.map((h) => `${h.color} ${h.version} ${h.healthy ? "healthy" : h.color === d0.retired ? "retired (stopped)" : `UNHEALTHY (${h.reason})`}`).join(", ");
    const dataOk = after.found === ids.length && after.documents === before.documents && after.uploads === before.uploads;
    const report: DrillReport = {
        stack: ctx.stack.name, startedAt: new Date(started).toISOString(), seconds: (Date.now() - started) / 1000,
        passed: steps.length === 5 && steps.every((s) => s.passed) && dataOk && health.every(fine),
        versions: { good, release }, steps, before: { documents: before.documents, uploads: before.uploads }, after: { documents: after.documents, uploads: after.uploads },
        notesKept: { created: ids.length, found: after.found }, healthAfter, timeline, marks,
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "drill.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(outDir, "drill.md"), renderMarkdown(report));
    writeFileSync(join(outDir, "drill.svg"), renderSvg(report));
    ctx.say(`drill ${report.passed ? "PASSED" : "FAILED"} in ${report.seconds.toFixed(0)} s; report: ${join(outDir, "drill.md")}`);
    ctx.log("command-finished", `drill ${report.passed ? "passed" : "failed"}: report ${outDir}`, report.passed, { seconds: report.seconds, figures: { steps: steps.map((s) => ({ name: s.name, passed: s.passed, detectSec: s.detectSec, recoverSec: s.recoverSec, failed: s.failed })), before, after } });
    return { ok: report.passed, json: { ...report, timeline: undefined, reportDir: outDir } };
}
