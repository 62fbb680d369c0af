// One request as the balancer logged it (infra/render/nginx.ts, log_format noteshub). Pure.
import type { Color } from "../../infra/config";

export interface Request {
    /** When nginx finished it, epoch milliseconds. */
    readonly at: number;
    readonly color: Color;
    readonly status: number;
    /**
     * Seconds the colour took to answer it (nginx's upstream response time, every attempt added): the release's own
     * time, not a slow client's upload or download. Undefined when no colour was asked (nginx answered alone).
     */
    readonly seconds: number | undefined;
    /** A failure of the release: a 5xx, including nginx's own 502/504 when the colour did not answer. A client's
     * 4xx, or its giving up (499), is not the release's doing. */
    readonly failed: boolean;
}

/** "0.004", "0.002, 0.004" (a retry), "0.001 : 0.003" (an internal redirect), "-" or "": the seconds, added. */
function upstreamSeconds(ut: unknown): number | undefined {
    const parts = String(ut ?? "").split(/[,:]/).map((p) => p.trim()).filter((p) => /^\d+(\.\d+)?$/.test(p));
    return parts.length ? parts.reduce((n, p) => n + Number(p), 0) : undefined;
}

/** A log line as a request; undefined for anything else on the balancer's stdout (or a line cut short). */
export function parseLine(line: string): Request | undefined {
    if (!line.startsWith("{")) return undefined;
    let o: { t?: unknown; c?: unknown; s?: unknown; rt?: unknown; ut?: unknown };
    try {
        o = JSON.parse(line);
    } catch {
        return undefined;
    }
    if (typeof o.t !== "number" || typeof o.s !== "number" || typeof o.rt !== "number") return undefined;
    if (o.c !== "blue" && o.c !== "green") return undefined; // "none": no state, answered 502 by nobody's colour
    return { at: Math.round(o.t * 1000), color: o.c, status: o.s, seconds: upstreamSeconds(o.ut), failed: o.s >= 500 };
}
