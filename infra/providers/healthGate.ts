// The health gate (runbook "Health Checks" + "Smoke Tests", INVARIANTS 1): before traffic goes to a colour, poll its
// /health until it answers healthy at its configured version N times in a row, then run the smoke checks. The
// balancer's routes depend on the live colour's gate, so when it fails, `pulumi up` fails and traffic stays put.
// Probes run with curl inside the balancer's holder, on the stack network: the same on a local or remote engine.
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, type DockerConnection } from "../docker/engine";
import { probeVia } from "../health/probe";
import { judgeHealth, judgeSmoke, Streak, type Probe, type SmokeCheck } from "../health/verdict";
import { changedInputs } from "./diff";

export interface GateSettings {
    /** Time between probes. */
    readonly intervalMs: number;
    /** Healthy answers in a row needed to pass. */
    readonly successThreshold: number;
    /** Bad answers in a row that fail the gate (runbook: 3). */
    readonly failureThreshold: number;
    /** Give up after this long. */
    readonly timeoutSec: number;
    /** Critical endpoints checked once healthy (runbook "Smoke Tests"). */
    readonly smoke: SmokeCheck[];
}

export interface HealthGateArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** Container the probes run in (the balancer's holder: it is on the stack network and has curl). */
    readonly probeContainerId: pulumi.Input<string>;
    readonly color: string;
    /** Where the colour listens on the stack network. */
    readonly host: string;
    readonly port: number;
    /** The version the colour must report. */
    readonly version: string;
    /** The app container's name, for the "look at its logs" advice (default: host). */
    readonly container?: string;
    /** Whether the colour receives traffic after this update; becoming live re-runs the gate. */
    readonly live: boolean;
    /** What the gate guards: a new container or image re-runs it. */
    readonly guards: pulumi.Input<Record<string, pulumi.Input<string>>>;
    readonly settings: GateSettings;
    /** The colour is retired (stopped, no share): nothing to probe; started again, it is checked like a new one. */
    readonly retired?: boolean;
}

export type GateCheck = Pick<Inputs, "docker" | "probeContainerId" | "color" | "host" | "port" | "version" | "settings" | "container">;

interface Inputs {
    docker: DockerConnection;
    probeContainerId: string;
    color: string;
    host: string;
    port: number;
    version: string;
    container?: string;
    live: boolean;
    guards: Record<string, string>;
    settings: GateSettings;
    retired?: boolean;
    /** Tells this resource apart for the policy pack (policy/traffic.ts). */
    kind?: "HealthGate";
}
interface Outputs extends Inputs {
    /** When the colour last passed (ISO time); the routes depend on it. */
    passedAt: string;
    /** "checked" or "skipped: ..." (a colour going idle is not re-checked). */
    result: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function probe(inputs: GateCheck, method: string, path: string, timeoutMs: number): Promise<Probe> {
    return probeVia(connect(inputs.docker), inputs.probeContainerId, inputs, method, path, timeoutMs);
}

/** The gate's check itself: also run by the operator's immediate rollback before it moves traffic (cli/commands.ts). */
/**
 * `running`: the colour was serving already (an immediate rollback brings it back): it gets no start period, so a
 * dead one fails in failureThreshold probes, not at the deadline.
 */
export async function runGate(inputs: GateCheck, s: GateSettings = inputs.settings, o: { running?: boolean } = {}): Promise<void> {
    const what = `health gate: ${inputs.color} (${inputs.version}) at ${inputs.host}:${inputs.port}`;
    const deadline = Date.now() + s.timeoutSec * 1000;
    const streak = new Streak(s.successThreshold, s.failureThreshold);
    let answers = 0;
    let started = o.running === true;
    let firstBad: string | undefined; // when the current run of bad answers began
    for (;;) {
        let p: Probe;
        try {
            p = await probe(inputs, "GET", "/health", s.intervalMs + 2000);
        } catch (err) {
            throw engineError("probe from", `balancer ${inputs.probeContainerId.slice(0, 12)}`, inputs.docker, err);
        }
        answers++;
        const verdict = judgeHealth(p, inputs.version);
        // A colour still starting (nothing listens yet) is not failing: like a container's start period, the
        // failures in a row count from its first answer, and one that never answers fails at the deadline. A slow
        // start on a busy host must not fail a healthy release.
        started ||= p.status !== 0;
        firstBad = verdict.ok ? undefined : firstBad ?? new Date().toISOString();
        const state = started ? streak.record(verdict) : "continue";
        if (state === "pass") break;
        if (state === "fail" || Date.now() > deadline) {
            const why = state === "fail" ? `${s.failureThreshold} failed checks in a row` : started ? `not ${s.successThreshold} healthy answers in a row within ${s.timeoutSec}s` : `never answered within ${s.timeoutSec}s`;
            throw new Error(`${what}: GET /health failed (${why}, ${answers} probes). Last answer: ${verdict.reason}; body: ${p.body.slice(0, 300)}\n  -> traffic was not moved. Check the colour's logs (docker logs ${inputs.container ?? inputs.host}), fix or roll back its version, then run pulumi up again.${firstBad ? ` [failing since ${firstBad}]` : ""}`);
        }
        await sleep(s.intervalMs);
    }
    for (const check of s.smoke) {
        const p = await probe(inputs, check.method, check.path, 10_000);
        const v = judgeSmoke(p, check);
        if (!v.ok) {
            throw new Error(`${what}: smoke check ${check.method} ${check.path} failed: ${v.reason}\n  -> traffic was not moved. Check the colour's logs (docker logs ${inputs.container ?? inputs.host}), fix or roll back its version, then run pulumi up again.`);
        }
    }
}

/** Runs the gate unless the only change is the colour going idle (it needs no proof to stop receiving traffic). */
export const RECHECK_MS = 200;

async function apply(olds: Outputs | undefined, news: Inputs): Promise<Outputs> {
    // Where the probes run from (the balancer's holder) is not the colour: a new one is no reason to check again.
    const changed = olds ? changedInputs(olds as never, news as never, ["passedAt", "result"]).filter((k) => k !== "probeContainerId") : ["new"];
    if (olds && changed.length === 0) return { ...news, passedAt: olds.passedAt, result: olds.result };
    // A retired colour is stopped and has no share (config and policy see to that): it proves nothing, and its last
    // pass is no proof once it runs again (`retired` changing back re-runs the whole gate below).
    if (news.retired) return { ...news, passedAt: olds?.passedAt ?? "", result: "skipped: colour retired" };
    if (olds && !news.live && changed.every((k) => k === "live")) {
        return { ...news, passedAt: olds.passedAt, result: "skipped: colour went idle" };
    }
    // A colour coming back into service unchanged (same container and image; an immediate rollback) is probed just as
    // strictly, only faster: the same streak of healthy answers, RECHECK_MS apart (issue #6: rollback in seconds).
    const comingBack = olds && news.live && changed.every((k) => k === "live");
    const settings = comingBack ? { ...news.settings, intervalMs: Math.min(news.settings.intervalMs, RECHECK_MS) } : news.settings;
    await runGate(news, settings, { running: !!comingBack });
    return { ...news, passedAt: new Date().toISOString(), result: comingBack ? "rechecked" : "checked" };
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        return { changes: changedInputs(olds as never, news as never, ["passedAt", "result"]).length > 0, replaces: [] };
    },
    async create(inputs: Inputs) {
        return { id: `gate-${inputs.color}`, outs: await apply(undefined, inputs) };
    },
    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: await apply(olds, news) };
    },
    async delete() {
        // A gate owns nothing.
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class HealthGate extends pulumi.dynamic.Resource {
    declare readonly passedAt: pulumi.Output<string>;
    declare readonly result: pulumi.Output<string>;

    constructor(name: string, args: HealthGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, kind: "HealthGate", passedAt: undefined, result: undefined }, opts, "noteshub", "HealthGate");
    }
}
