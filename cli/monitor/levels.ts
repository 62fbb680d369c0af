// The runbook's "Key Metrics to Monitor" thresholds, as levels: above warning is a warning, above critical is
// critical. Pure.
import type { Monitoring } from "./triggers";
import type { Figures } from "./window";

export type Level = "ok" | "warning" | "critical" | "unknown";

export function levelOf(value: number | undefined, warning: number, critical: number): Level {
    if (value === undefined) return "unknown";
    return value > critical ? "critical" : value > warning ? "warning" : "ok";
}

export interface ColourLevels {
    readonly errorRate: Level;
    readonly p95: Level;
}

/** Too few requests to judge: unknown, not ok. */
export function colourLevels(m: Monitoring, f: Figures): ColourLevels {
    const enough = f.requests >= m.minRequests;
    return {
        errorRate: enough ? levelOf(f.errorRate, m.warning.errorRate, m.critical.errorRate) : "unknown",
        p95: enough ? levelOf(f.p95Ms, m.warning.p95Ms, m.critical.p95Ms) : "unknown",
    };
}

export const dbLevel = (m: Monitoring, avgQueryMs: number | undefined, up: boolean): Level =>
    !up ? "critical" : levelOf(avgQueryMs, m.warning.dbQueryMs, m.critical.dbQueryMs);
