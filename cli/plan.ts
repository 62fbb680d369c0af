// What each operator command declares, step by step (runbook "Deployment Flow" and "Rollback Procedures").
// Pure: from the declared state and the request to a list of steps, each a stack-config change that one `pulumi up`
// applies. Deploy and every kind of rollback are the same path (STYLE habit 6): declare, up, check, next step.
import { COLORS, otherColor, VERSION_RE, type Color } from "../infra/config";

export interface Declared {
    readonly activeColor: Color;
    readonly traffic: number;
    readonly blueVersion: string;
    readonly greenVersion: string;
    readonly retainedVersions: { readonly current: string; readonly previous: string; readonly archived: string };
    readonly schema: Readonly<Record<string, number>>;
    /** The idle colour, stopped (noteshub retire); null or absent: both run. */
    readonly retired?: Color | null;
}

/** A config change: each key given replaces the declared one (`schema` as a whole map). */
export type Change = Partial<Declared>;

export interface Step {
    readonly label: string;
    readonly change: Change;
    /** Check both colours' health after this step before the next one (deploy's traffic steps). */
    readonly checkAfter?: boolean;
}

/** Bad input: nothing was changed. */
export class PlanError extends Error {}

export const versionOf = (d: Declared, c: Color) => (c === "blue" ? d.blueVersion : d.greenVersion);
const versionKey = (c: Color): "blueVersion" | "greenVersion" => (c === "blue" ? "blueVersion" : "greenVersion");
const retained = (d: Declared) => [d.retainedVersions.current, d.retainedVersions.previous, d.retainedVersions.archived];

/** What a step that gives `c` a share (or a new version) adds when `c` is retired: start it again. */
const wake = (d: Declared, c: Color): Change => (d.retired === c ? { retired: null } : {});
/** Words for a step that starts a retired colour again: it is slower than a switch to a running one. */
const waking = (d: Declared, c: Color) => (d.retired === c ? `start ${c} again (retired: stopped), pass its health gate, then ` : "");

/** The colour serving (or being promoted to serve) and the other one. */
export function colours(d: Declared): { live: Color; idle: Color } {
    return { live: d.activeColor, idle: otherColor(d.activeColor) };
}

export interface DeployOptions {
    /** Traffic steps for the new colour (runbook: 10, 25, 50, 100). */
    readonly steps: number[];
    /** Schema a new version needs; default: the current version's. */
    readonly schema?: number;
}

/**
 * deploy <version>: the idle colour gets the version (a new one shifts the retained list current -> previous ->
 * archived), then traffic moves to it step by step.
 */
export function planDeploy(d: Declared, version: string, opts: DeployOptions): Step[] {
    if (!VERSION_RE.test(version)) throw new PlanError(`${JSON.stringify(version)} is not a version like v1.2.3`);
    if (d.traffic < 100) throw new PlanError(`a shift to ${d.activeColor} is in progress (${d.traffic} %); finish it (noteshub deploy ${versionOf(d, d.activeColor)}) or roll back first (noteshub rollback)`);
    if (opts.steps.length === 0 || opts.steps.some((s, i) => !Number.isInteger(s) || s < 1 || s > 100 || (i > 0 && s <= opts.steps[i - 1])) || opts.steps.at(-1) !== 100) {
        throw new PlanError(`traffic steps must rise from 1 to 100 % and end at 100, got ${opts.steps.join(",")}`);
    }
    const { live, idle } = colours(d);
    if (versionOf(d, live) === version) throw new PlanError(`${version} is already live on ${live}; nothing to deploy`);
    const steps: Step[] = [];
    const start: { -readonly [K in keyof Change]: Change[K] } = {};
    if (!retained(d).includes(version)) {
        const r = d.retainedVersions;
        if (versionOf(d, live) === r.archived) throw new PlanError(`the live colour ${live} runs ${r.archived}, which a new version would push out of the retained versions; deploy one of ${retained(d).join(", ")} first`);
        start.retainedVersions = { current: version, previous: r.current, archived: r.previous };
        // The schema map follows the retained versions: the version pushed out leaves it too.
        start.schema = { [version]: opts.schema ?? d.schema[r.current] ?? 0, [r.current]: d.schema[r.current] ?? 0, [r.previous]: d.schema[r.previous] ?? 0 };
    } else if (opts.schema !== undefined && opts.schema !== (d.schema[version] ?? 0)) {
        throw new PlanError(`${version} is retained with schema ${d.schema[version] ?? 0}; a retained version's schema is fixed (got --schema ${opts.schema})`);
    }
    if (versionOf(d, idle) !== version || Object.keys(start).length > 0 || d.retired === idle) {
        steps.push({ label: `start ${version} on ${idle} (migrations, health gate; no traffic yet)`, change: { ...start, [versionKey(idle)]: version, ...wake(d, idle) } });
    }
    for (const share of opts.steps) {
        // Every traffic step is checked and watched, the last one too: after 100 % comes the runbook's monitoring.
        steps.push({ label: `${idle} (${version}) gets ${share} % of traffic`, change: { activeColor: idle, traffic: share }, checkAfter: true });
    }
    return steps;
}

/** rollback: all traffic back to the other colour, which kept running (INVARIANTS 4). */
export function planImmediate(d: Declared): Step[] {
    const { live, idle } = colours(d);
    if (d.traffic === 0) {
        return [{ label: `${idle} (${versionOf(d, idle)}) keeps 100 % of traffic; ${live} gets none`, change: { activeColor: idle, traffic: 100 } }];
    }
    if (versionOf(d, idle) === versionOf(d, live)) {
        throw new PlanError(`nothing to roll back to: both colours run ${versionOf(d, live)}; use noteshub rollback --to <version> (retained: ${retained(d).join(", ")})`);
    }
    return [{ label: `${waking(d, idle)}all traffic back to ${idle} (${versionOf(d, idle)})`, change: { activeColor: idle, traffic: 100, ...wake(d, idle) } }];
}

/**
 * rollback --to <version>: the colour at that retained version (started on the idle colour if none runs it) gets all
 * traffic; then, if the other colour's version needs a newer schema, it is moved to the same version so the downs
 * that version needs run (runbook "Standard Rollback").
 */
export function planRollbackTo(d: Declared, version: string): Step[] {
    if (!retained(d).includes(version)) throw new PlanError(`${version} is not a retained version (${retained(d).join(", ")}); only those can be rolled back to`);
    const { live } = colours(d);
    const running = COLORS.find((c) => versionOf(d, c) === version);
    const target = running ?? otherColor(live);
    const other = otherColor(target);
    const steps: Step[] = [];
    if (!running) steps.push({ label: `start ${version} on ${target} (health gate; no traffic yet)`, change: { [versionKey(target)]: version, ...wake(d, target) } });
    if (!(d.activeColor === target && d.traffic === 100)) steps.push({ label: `${running ? waking(d, target) : ""}all traffic to ${target} (${version})`, change: { activeColor: target, traffic: 100, ...(running ? wake(d, target) : {}) } });
    const needs = d.schema[version] ?? 0;
    const otherNeeds = d.schema[versionOf(d, other)] ?? 0;
    if (otherNeeds > needs) {
        steps.push({ label: `${other} to ${version} too, so the migrations ${version} does not know are rolled back (schema ${otherNeeds} -> ${needs})`, change: { [versionKey(other)]: version } });
    }
    if (steps.length === 0) throw new PlanError(`${version} already gets all traffic on ${target}; nothing to roll back`);
    return steps;
}

/**
 * rollback --emergency (production down): the last known good colour is the one not being promoted; it gets all
 * traffic (its containers restarted first by the command).
 */
export function planEmergency(d: Declared): { target: Color; steps: Step[] } {
    const target = colours(d).idle;
    return { target, steps: [{ label: `${waking(d, target)}all traffic to ${target} (${versionOf(d, target)}), the last known good colour`, change: { activeColor: target, traffic: 100, ...wake(d, target) } }] };
}

/**
 * revert <n>: back to an earlier update's declared state, through the idle colour (issue #12): a colour that has all
 * the traffic now and would run another version first hands its traffic to the other colour, which gets what the
 * target gives it first, while idle. A colour with a share during a shift is never changed: finish the shift first.
 */
export function planRevert(now: Declared, target: Declared, what: string): Step[] {
    // Only versions this stack still keeps: their images are pinned. One it let go would be built or pulled again,
    // and a revert could not promise the bytes that ran (issue #12).
    const gone = [...new Set([versionOf(target, "blue"), versionOf(target, "green")])].filter((v) => !retained(now).includes(v));
    if (gone.length) {
        throw new PlanError(`${what} runs ${gone.join(" and ")}, which this stack no longer keeps (retained: ${retained(now).join(", ")}), so its image is not the one that ran; deploy a retained version (noteshub deploy / rollback --to) instead`);
    }
    const weights = { [now.activeColor]: now.traffic, [otherColor(now.activeColor)]: 100 - now.traffic } as Record<Color, number>;
    // Both colours run while the revert moves them (a retired one starts again); the update's retired colour, if it
    // had one, is stopped last, once it has no share (stopping and moving traffic in one up would be refused).
    const whole: Change = { ...target, retired: null };
    const retireLast: Step[] = target.retired ? [{ label: `retire ${target.retired} as it was (stopped; its image stays)`, change: { retired: target.retired } }] : [];
    const changing = COLORS.filter((c) => weights[c] > 0 && versionOf(now, c) !== versionOf(target, c));
    if (changing.length === 0) return [{ label: `${what}: declare it as it was`, change: whole }, ...retireLast];
    const [c] = changing;
    const o = otherColor(c);
    if (weights[c] < 100 || changing.length > 1) {
        throw new PlanError(`${what} runs another version on ${c}, which has ${weights[c]} % of traffic during a shift; finish the shift or roll it back first (noteshub rollback), then revert`);
    }
    if (!retained(target).includes(versionOf(now, c))) {
        throw new PlanError(`${what} does not retain ${versionOf(now, c)}, which ${c} serves now, so ${c} can't keep serving while ${o} starts ${versionOf(target, o)}; move there step by step (noteshub rollback --to / deploy), then revert`);
    }
    const steps: Step[] = [
        { label: `${what}, except ${c}: it keeps ${versionOf(now, c)} and all traffic while ${o} starts ${versionOf(target, o)}`, change: { ...whole, [versionKey(c)]: versionOf(now, c), activeColor: c, traffic: 100 } },
        { label: `all traffic to ${o} (${versionOf(target, o)}) while ${c} changes version`, change: { activeColor: o, traffic: 100 } },
        { label: `${c} to ${versionOf(target, c)}`, change: { [versionKey(c)]: versionOf(target, c) } },
    ];
    if (!(target.activeColor === o && target.traffic === 100)) steps.push({ label: `traffic as it was: ${target.activeColor} at ${target.traffic} %`, change: { activeColor: target.activeColor, traffic: target.traffic } });
    return [...steps, ...retireLast];
}

/**
 * retire: the idle colour is stopped (runbook: decommission the previous colour once the release is trusted; stop a
 * failed release after an immediate rollback). Its container and image stay; a rollback to it starts it again.
 */
export function planRetire(d: Declared): Step[] {
    const { live, idle } = colours(d);
    if (d.traffic < 100) {
        throw new PlanError(`a shift to ${live} is in progress (${d.traffic} %): ${idle} still has ${100 - d.traffic} % of traffic; finish it (noteshub deploy ${versionOf(d, live)} or promote) or roll back first, then retire`);
    }
    if (d.retired === idle) throw new PlanError(`${idle} (${versionOf(d, idle)}) is already retired; nothing to do`);
    return [{ label: `retire ${idle} (${versionOf(d, idle)}): stop it, keep its container and image (a rollback to it starts it again)`, change: { retired: idle } }];
}

/** The declared state after a change. */
export function applyChange(d: Declared, c: Change): Declared {
    return { ...d, ...c };
}
