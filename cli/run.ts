// Runs a plan: for each step, declare it in stack config and `pulumi up`; after a traffic step, check both colours.
// On a failure, what was declared before is written back and applied, so what is declared is what runs
// (INVARIANTS 3) and traffic is where it was before the failed step.
import { colourHealth } from "./health";
import { applyChange, type Change, type Declared, type Step } from "./plan";
import { up, writeChange, type OpenStack } from "./stack";
import type { NotesHubConfig } from "../infra/config";
import { weightsOf } from "../infra/render/nginx";

export interface StepResult {
    readonly label: string;
    readonly ok: boolean;
    readonly seconds: number;
    readonly changes?: string;
    readonly error?: string;
}

export interface RunOutcome {
    readonly ok: boolean;
    readonly steps: StepResult[];
    /** When a step failed: what was restored, and whether that worked. */
    readonly restored?: { label: string; ok: boolean; error?: string };
    /** The step after which the plan stopped as asked (deploy --pause-at), leaving the rest for `noteshub promote`. */
    readonly stoppedAfter?: string;
}

export interface Reporter {
    step(i: number, n: number, label: string): void;
    progress(line: string): void;
    done(result: StepResult, declared: Declared): void;
    note(text: string): void;
    restored(label: string, ok: boolean, error?: string): void;
}

/**
 * The keys a change sets, with the values they had before it (to write back on failure). A restore that moves traffic
 * or puts `retired` back also says which colour is retired afterwards, so it never leaves one retired with a share (a
 * colour retired meanwhile, or a revert's last step undone): that colour starts again in the restoring `up`.
 */
export function undoOf(before: Declared, failed: Declared, c: Change): Change {
    const undo: Record<string, unknown> = {};
    for (const k of Object.keys(c) as (keyof Change)[]) undo[k] = k === "retired" ? before.retired ?? null : before[k];
    if (movesTraffic(undo as Change) || "retired" in undo) {
        const after = applyChange(failed, undo as Change);
        const shares = weightsOf(after.activeColor, after.traffic);
        undo.retired = after.retired && shares[after.retired] === 0 ? after.retired : null;
    }
    return undo as Change;
}

/** A line of pulumi's output worth showing as progress: a resource that finished a step. */
const progressLine = (l: string) => /\b(created|updated|replaced|deleted|failed)\b.*\(\d+s\)/.test(l) || /error:/.test(l);

export interface RunOptions {
    /** True once the command's stack lock was taken over: no further step runs. */
    readonly lockLost?: () => boolean;
    /** Seconds to wait after a traffic step before checking both colours. */
    readonly pauseSec?: number;
    /**
     * Moves traffic as a declared state says, once the colour it goes to passes the gate's own check; the `up` that
     * follows records and converges it. A restore that moves traffic always uses it (seconds, not a whole `up`).
     */
    readonly moveTraffic?: (after: Declared) => Promise<void>;
    /** Every step moves traffic with `moveTraffic` before its `up` (the immediate rollback's fast path). */
    readonly fastSteps?: boolean;
    /** After a traffic step and its health check: watch it; throwing (a rollback trigger fired) fails the step. */
    readonly bake?: (after: Declared, step: Step) => Promise<void>;
    /**
     * What a failed step is undone to, when not what was declared as the plan began: a promote's failure goes back to
     * what ran before the paused deploy, not to its pause.
     */
    readonly restoreTo?: Declared;
    /** True after a step that passed: the plan stops there, successfully (deploy --pause-at). */
    readonly stopAfter?: (after: Declared, step: Step) => boolean;
}

/** A rollback trigger fired while a step was watched (cli/monitor/triggers.ts). */
export class TriggerFired extends Error {
    constructor(readonly trigger: string, readonly reason: string) {
        super(`rollback trigger ${trigger}: ${reason}`);
    }
}

const movesTraffic = (c: Change) => c.activeColor !== undefined || c.traffic !== undefined;

export async function runSteps(s: OpenStack, cfg: NotesHubConfig, declared: Declared, steps: Step[], command: string, report: Reporter, opts: RunOptions = {}): Promise<RunOutcome> {
    const results: StepResult[] = [];
    let current = declared; // what runs after each successful step
    for (const [i, step] of steps.entries()) {
        if (opts.lockLost?.()) {
            // Another command has the stack now (this one was stopped past its lock's lease): it owns what happens next.
            return { ok: false, steps: results, restored: { label: "stopped: another command took the stack lock over while this one was stopped; nothing more was changed", ok: false } };
        }
        report.step(i + 1, steps.length, step.label);
        const start = Date.now();
        await writeChange(s, step.change);
        let movedEarly = false;
        try {
            // A colour that was retired is stopped: it starts in the `up` and passes its whole gate there first.
            const wakes = step.change.retired === null && !!current.retired;
            if (opts.fastSteps && opts.moveTraffic && !wakes) {
                await opts.moveTraffic(applyChange(current, step.change));
                movedEarly = true;
            }
            const r = await up(s, `noteshub ${command}: ${step.label}`, (l) => progressLine(l) && report.progress(l.trim()));
            current = applyChange(current, step.change);
            if (step.checkAfter) {
                if (opts.pauseSec) await new Promise((res) => setTimeout(res, opts.pauseSec! * 1000));
                // The colours that serve after the step: at 100 % the other one is idle, and its health is no reason
                // to send traffic back to it (it may be why this deploy runs).
                const shares = weightsOf(current.activeColor, current.traffic);
                const bad = (await colourHealth({ ...cfg, ...current })).filter((h) => !h.healthy && shares[h.color] > 0);
                if (bad.length) throw new Error(`health check after the step: ${bad.map((h) => `${h.color} (${h.version}): ${h.reason}`).join("; ")}`);
                await opts.bake?.(current, step);
            }
            const result = { label: step.label, ok: true, seconds: (Date.now() - start) / 1000, changes: r.summary };
            results.push(result);
            report.done(result, current);
            if (opts.stopAfter?.(current, step)) return { ok: true, steps: results, stoppedAfter: step.label };
        } catch (err) {
            const result = { label: step.label, ok: false, seconds: (Date.now() - start) / 1000, error: cleanError(err) };
            results.push(result);
            report.done(result, applyChange(current, step.change));
            if (movedEarly) {
                // Traffic already moved to the colour that just passed its check, as declared: keep it there (sending it
                // back to the colour being rolled back from would be worse); only the record is missing.
                return { ok: false, steps: results, restored: { label: "kept: traffic is where the config declares it; run pulumi up to record it", ok: false } };
            }
            return { ok: false, steps: results, restored: await restore(s, opts.restoreTo ?? declared, applyChange(current, step.change), step, command, report, opts.moveTraffic) };
        }
    }
    return { ok: true, steps: results };
}

/**
 * Writes back, for what the failed step changed, the values declared before the command began, and applies them:
 * a failed traffic step sends all traffic back to the colour that served before; a failed start puts the idle
 * colour back on its version. Earlier steps that succeeded stay (e.g. the new version idles, for a look at it).
 */
async function restore(s: OpenStack, before: Declared, failedState: Declared, failed: Step, command: string, report: Reporter, moveTraffic?: RunOptions["moveTraffic"]): Promise<RunOutcome["restored"]> {
    const undo = undoOf(before, failedState, failed.change);
    const label = `restore ${describe(undo)}`;
    report.note(label);
    try {
        await writeChange(s, undo);
        if (moveTraffic && movesTraffic(undo)) {
            // Traffic back first (a trigger may be firing: every second counts); a colour that fails the check is
            // left to the `up` below, whose gate then fails with the reason.
            await moveTraffic(applyChange(failedState, undo)).catch((err) => report.note(`traffic could not move early (${cleanError(err).split("\n")[0]}); pulumi up moves it`));
        }
        await up(s, `noteshub ${command}: ${label}`, (l) => progressLine(l) && report.progress(l.trim()));
        report.restored(label, true);
        return { label, ok: true };
    } catch (err) {
        report.restored(label, false, cleanError(err));
        return { label, ok: false, error: cleanError(err) };
    }
}

function describe(c: Change): string {
    return Object.entries(c).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
}

/** What pulumi said went wrong: its policy violations and diagnostics, without the command line and the outputs. */
export function cleanError(err: unknown): string {
    const text = String((err as Error)?.message ?? err);
    const section = (start: string) => {
        const i = text.indexOf(start);
        if (i < 0) return "";
        const rest = text.slice(i).split("\n");
        const end = rest.findIndex((l, j) => j > 0 && /^\S/.test(l) && !l.startsWith(start));
        return rest.slice(0, end < 0 ? undefined : end).join("\n").trimEnd();
    };
    const policies = /❌/.test(text) ? section("Policies:") : "";
    const diagnostics = section("Diagnostics:");
    if (policies || diagnostics) return [policies, diagnostics].filter(Boolean).join("\n");
    return text.split("\n").filter((l) => l.trim() && !/^\s+at /.test(l)).slice(0, 30).join("\n");
}
