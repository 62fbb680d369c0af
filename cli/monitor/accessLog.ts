// One request as the balancer logged it (infra/render/nginx.ts, log_format noteshub). Pure.
import type { Color } from "../../infra/config";

export interface Request {
    /** When nginx finished it, epoch milliseconds. */
    readonly at: number;
    readonly color: Color;
    readonly status: number;
    /** Seconds nginx spent on it, client to client (what a user waited). */
    readonly seconds: number;
    /** A failure the user saw: a 5xx, including nginx's own 502/504 when the colour did not answer. */
    readonly failed: boolean;
}

/** A log line as a request; undefined for anything else on the balancer's stdout (or a line cut short). */
export function parseLine(line: string): Request | undefined {
    if (!line.startsWith("{")) return undefined;
    let o: { t?: unknown; c?: unknown; s?: unknown; rt?: unknown };
    try {
        o = JSON.parse(line);
    } catch {
        return undefined;
    }
    if (typeof o.t !== "number" || typeof o.s !== "number" || typeof o.rt !== "number") return undefined;
    if (o.c !== "blue" && o.c !== "green") return undefined; // "none": no state, answered 502 by nobody's colour
    return { at: Math.round(o.t * 1000), color: o.c, status: o.s, seconds: o.rt, failed: o.s >= 500 };
}
