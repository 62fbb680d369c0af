// What counts as healthy (runbook "Health Checks"): HTTP 200, status "healthy", and the version the colour reports
// equals the version configured for it. Pure, so every rule is tested without a server.

export interface Probe {
    /** HTTP status, or 0 when no answer came (refused, timeout). */
    readonly status: number;
    readonly body: string;
    /** Transport error, when status is 0. */
    readonly error?: string;
}

export interface Verdict {
    readonly ok: boolean;
    /** Why not, in words for the error message. */
    readonly reason: string;
}

/** The runbook writes versions both ways (v1.2.3 and 1.2.3). */
export const sameVersion = (a: string, b: string) => a.replace(/^v/, "") === b.replace(/^v/, "");

export function judgeHealth(p: Probe, expectedVersion: string): Verdict {
    if (p.status === 0) return { ok: false, reason: `no answer (${p.error ?? "connection failed"})` };
    let body: { status?: unknown; version?: unknown; checks?: unknown };
    try {
        body = JSON.parse(p.body);
    } catch {
        return { ok: false, reason: `HTTP ${p.status}, body is not JSON: ${p.body.slice(0, 120)}` };
    }
    if (p.status !== 200) return { ok: false, reason: `HTTP ${p.status}, status ${JSON.stringify(body.status)}, checks ${JSON.stringify(body.checks ?? {})}` };
    if (body.status !== "healthy") return { ok: false, reason: `status ${JSON.stringify(body.status)}, checks ${JSON.stringify(body.checks ?? {})}` };
    if (typeof body.version !== "string" || !sameVersion(body.version, expectedVersion)) {
        return { ok: false, reason: `reports version ${JSON.stringify(body.version)}, configured ${expectedVersion}` };
    }
    return { ok: true, reason: "healthy" };
}

export interface SmokeCheck {
    readonly method: string;
    readonly path: string;
    /** Expected HTTP status. */
    readonly status: number;
}

export function judgeSmoke(p: Probe, check: SmokeCheck): Verdict {
    if (p.status === check.status) return { ok: true, reason: `HTTP ${p.status}` };
    return { ok: false, reason: p.status === 0 ? `no answer (${p.error ?? "connection failed"})` : `HTTP ${p.status}, expected ${check.status}: ${p.body.slice(0, 200)}` };
}

/**
 * Consecutive-answer bookkeeping: pass after `successes` healthy answers in a row, fail after `failures` bad ones in
 * a row (runbook: 3 failures in a row). A flapping colour resets the run each time, so a lucky answer never passes.
 */
export class Streak {
    private good = 0;
    private bad = 0;
    constructor(private readonly successes: number, private readonly failures: number) {}

    record(v: Verdict): "pass" | "fail" | "continue" {
        if (v.ok) {
            this.good++;
            this.bad = 0;
        } else {
            this.bad++;
            this.good = 0;
        }
        if (this.good >= this.successes) return "pass";
        if (this.bad >= this.failures) return "fail";
        return "continue";
    }
}
