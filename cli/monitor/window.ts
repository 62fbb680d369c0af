// Per-colour figures over a sliding window: request rate, error rate, p95 latency (runbook "Key Metrics to
// Monitor"). One bucket per second, each with a latency histogram, so memory stays the same at any load and the
// p95 of any window is a merge of buckets. Pure (time is passed in).
import { COLORS, type Color } from "../../infra/config";
import type { Request } from "./accessLog";

// Latency bucket bounds in ms: 1 ms up to 2 min, 10 % apart, so a p95 is at most 10 % above the true one.
export const BOUNDS_MS: readonly number[] = (() => {
    const b: number[] = [];
    for (let ms = 1; ms < 120_000; ms *= 1.1) b.push(Math.round(ms * 1000) / 1000);
    return [...b, Infinity];
})();

function bucketOf(ms: number): number {
    let lo = 0;
    let hi = BOUNDS_MS.length - 1;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ms <= BOUNDS_MS[mid]) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

interface Second {
    second: number;
    requests: number;
    failed: number;
    /** Requests a colour answered, with its time (the latency histogram counts these). */
    timed: number;
    latency: Map<number, number>;
}

export interface Figures {
    readonly requests: number;
    readonly failed: number;
    /** Requests per second over the window. */
    readonly rate: number;
    /** Failed requests, percent of requests; 0 with no requests. */
    readonly errorRate: number;
    /** 95th percentile of the colour's answer time, ms (upper bound of its bucket); undefined with none answered. */
    readonly p95Ms: number | undefined;
}

export class ColourWindow {
    private readonly seconds: Second[] = [];
    /** Since the window began: for the Prometheus counters. */
    totalRequests = 0;
    totalFailed = 0;

    constructor(private readonly keepSec: number) {}

    add(r: Request): void {
        const second = Math.floor(r.at / 1000);
        // Lines come nearly in time order: the newest second first, then a search.
        const newest = this.seconds[this.seconds.length - 1];
        let s = newest?.second === second ? newest : this.seconds.find((x) => x.second === second);
        if (!s) {
            s = { second, requests: 0, failed: 0, timed: 0, latency: new Map() };
            this.seconds.push(s);
            this.seconds.sort((a, b) => a.second - b.second);
            while (this.seconds.length && this.seconds[0].second < second - this.keepSec) this.seconds.shift();
        }
        s.requests++;
        if (r.failed) s.failed++;
        if (r.seconds !== undefined) {
            const b = bucketOf(r.seconds * 1000);
            s.latency.set(b, (s.latency.get(b) ?? 0) + 1);
            s.timed++;
        }
        this.totalRequests++;
        if (r.failed) this.totalFailed++;
    }

    /** The last `windowSec` seconds up to `now` (epoch ms). */
    figures(now: number, windowSec: number): Figures {
        const from = Math.floor(now / 1000) - windowSec;
        const inWindow = this.seconds.filter((s) => s.second > from && s.second <= Math.floor(now / 1000));
        const requests = inWindow.reduce((n, s) => n + s.requests, 0);
        const failed = inWindow.reduce((n, s) => n + s.failed, 0);
        const timed = inWindow.reduce((n, s) => n + s.timed, 0);
        return { requests, failed, rate: requests / windowSec, errorRate: requests ? (100 * failed) / requests : 0, p95Ms: percentile(inWindow, timed, 0.95) };
    }
}

function percentile(seconds: Second[], total: number, q: number): number | undefined {
    if (!total) return undefined;
    const merged = new Map<number, number>();
    for (const s of seconds) for (const [b, n] of s.latency) merged.set(b, (merged.get(b) ?? 0) + n);
    const need = Math.ceil(q * total);
    let seen = 0;
    for (const b of [...merged.keys()].sort((x, y) => x - y)) {
        seen += merged.get(b)!;
        if (seen >= need) return BOUNDS_MS[b];
    }
    return undefined;
}

/** Both colours' windows. */
export class Traffic {
    readonly colours: Record<Color, ColourWindow>;

    constructor(keepSec: number) {
        this.colours = Object.fromEntries(COLORS.map((c) => [c, new ColourWindow(keepSec)])) as Record<Color, ColourWindow>;
    }

    add(r: Request): void {
        this.colours[r.color].add(r);
    }
}
