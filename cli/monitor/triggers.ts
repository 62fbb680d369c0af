// The runbook's "Rollback Triggers", as a pure state machine fed with what the watcher observes about the live
// colour: its traffic figures (each second) and its /health answers (each probe). It fires at most once: one
// incident, one rollback (issue #7); the caller makes a new Triggers for the next release.
//   1. error rate > 10 % for 5 minutes        (errorRate.percent, errorRate.forSec)
//   2. p95 > 5000 ms for 5 minutes            (p95.ms, p95.forSec)
//   3. health check fails 3 times in a row    (health.failures)
//   4. database connection fails              (database.failures answers in a row whose database check fails)
// "For 5 minutes" is Prometheus's `for:`: the figure, over the last min(windowSec, forSec) seconds, is above the
// threshold at every evaluation for forSec. Too few requests to judge (minRequests) is no evidence: it resets.
import type { NotesHubConfig } from "../../infra/config";
import type { Figures } from "./window";

export type Monitoring = NotesHubConfig["monitoring"];
export type TriggerName = "error-rate" | "p95" | "health" | "database";

export interface HealthAnswer {
    readonly ok: boolean;
    /** The colour's own database check passed (false also when it could not be asked). */
    readonly databaseOk: boolean;
    readonly reason: string;
}

export interface Firing {
    readonly trigger: TriggerName;
    /** The runbook's words plus the figures, e.g. "error rate 19.8 % > 10 % for 5 s". */
    readonly reason: string;
    /** When the condition was first seen (epoch ms): time to detect = firedAt - firstBadAt. */
    readonly firstBadAt: number;
    readonly firedAt: number;
    readonly figures: Record<string, unknown>;
}

const pct = (n: number) => `${n.toFixed(1)} %`;

export class Triggers {
    private errorSince?: number;
    private p95Since?: number;
    private healthBad: { since: number; count: number; last: string } | undefined;
    private dbBad: { since: number; count: number; last: string } | undefined;
    private done?: Firing;

    constructor(private readonly m: Monitoring) {}

    /** The window the rate and p95 are judged over for a trigger that must hold `forSec`. */
    judgeWindowSec(forSec: number): number {
        return Math.min(this.m.windowSec, forSec);
    }

    get fired(): Firing | undefined {
        return this.done;
    }

    /** The live colour's figures over `judgeWindowSec(errorRate.forSec)` and `judgeWindowSec(p95.forSec)`. */
    traffic(at: number, errors: Figures, latency: Figures): Firing | undefined {
        if (this.done) return undefined;
        const t = this.m.triggers;
        const errorBreach = errors.requests >= this.m.minRequests && errors.errorRate > t.errorRate.percent;
        this.errorSince = errorBreach ? (this.errorSince ?? at) : undefined;
        if (this.errorSince !== undefined && at - this.errorSince >= t.errorRate.forSec * 1000) {
            return this.fire({
                trigger: "error-rate", firstBadAt: this.errorSince, firedAt: at,
                reason: `error rate ${pct(errors.errorRate)} > ${t.errorRate.percent} % for ${t.errorRate.forSec} s (${errors.failed} of ${errors.requests} requests failed in the last ${this.judgeWindowSec(t.errorRate.forSec)} s)`,
                figures: { errorRate: errors.errorRate, failed: errors.failed, requests: errors.requests },
            });
        }
        const p95 = latency.p95Ms;
        const p95Breach = latency.requests >= this.m.minRequests && p95 !== undefined && p95 > t.p95.ms;
        this.p95Since = p95Breach ? (this.p95Since ?? at) : undefined;
        if (this.p95Since !== undefined && at - this.p95Since >= t.p95.forSec * 1000) {
            return this.fire({
                trigger: "p95", firstBadAt: this.p95Since, firedAt: at,
                reason: `response time p95 ${Math.round(p95!)} ms > ${t.p95.ms} ms for ${t.p95.forSec} s (${latency.requests} requests in the last ${this.judgeWindowSec(t.p95.forSec)} s)`,
                figures: { p95Ms: p95, requests: latency.requests },
            });
        }
        return undefined;
    }

    /** One /health answer of the live colour. */
    health(at: number, a: HealthAnswer): Firing | undefined {
        if (this.done) return undefined;
        const t = this.m.triggers;
        const count = (s: typeof this.healthBad, bad: boolean) => (bad ? { since: s?.since ?? at, count: (s?.count ?? 0) + 1, last: a.reason } : undefined);
        this.dbBad = count(this.dbBad, !a.databaseOk);
        this.healthBad = count(this.healthBad, !a.ok);
        // The database one first: it says more about what failed than "unhealthy".
        if (this.dbBad && this.dbBad.count >= t.database.failures) {
            return this.fire({
                trigger: "database", firstBadAt: this.dbBad.since, firedAt: at,
                reason: `database connection failing: ${this.dbBad.count} health checks in a row (${a.reason})`,
                figures: { failures: this.dbBad.count, last: a.reason },
            });
        }
        if (this.healthBad && this.healthBad.count >= t.health.failures) {
            return this.fire({
                trigger: "health", firstBadAt: this.healthBad.since, firedAt: at,
                reason: `health check failed ${this.healthBad.count} times in a row (${a.reason})`,
                figures: { failures: this.healthBad.count, last: a.reason },
            });
        }
        return undefined;
    }

    private fire(f: Firing): Firing {
        this.done = f;
        return f;
    }
}
