// The watcher's figures in Prometheus text exposition format (version 0.0.4), for teams that have a Prometheus:
// `noteshub watch --metrics-port 9464` serves it at /metrics. Pure, tested as an exact string.
import { COLORS } from "../../infra/config";
import type { Level } from "./levels";
import type { Snapshot } from "./snapshot";

const LEVEL: Record<Level, number> = { ok: 0, warning: 1, critical: 2, unknown: -1 };

interface Metric {
    readonly name: string;
    readonly help: string;
    readonly type: "counter" | "gauge";
    readonly samples: [labels: Record<string, string>, value: number | undefined][];
}

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toFixed(6))));

export function renderPrometheus(s: Snapshot): string {
    const per = (f: (c: (typeof COLORS)[number]) => number | undefined) =>
        COLORS.map((c) => [{ stack: s.stack, color: c, version: s.colours[c].version }, f(c)] as [Record<string, string>, number | undefined]);
    const metrics: Metric[] = [
        { name: "noteshub_requests_total", help: "Requests the balancer answered, by the colour they went to.", type: "counter", samples: per((c) => s.colours[c].totalRequests) },
        { name: "noteshub_request_failures_total", help: "Of those, answered 5xx (the colour's own or nginx's 502/504).", type: "counter", samples: per((c) => s.colours[c].totalFailed) },
        { name: "noteshub_traffic_share_percent", help: "Percent of new requests the balancer sends the colour.", type: "gauge", samples: per((c) => s.colours[c].share) },
        { name: "noteshub_request_rate", help: `Requests per second over the last ${s.windowSec} s.`, type: "gauge", samples: per((c) => s.colours[c].figures.rate) },
        { name: "noteshub_error_rate_percent", help: `Failed requests, percent, over the last ${s.windowSec} s.`, type: "gauge", samples: per((c) => s.colours[c].figures.errorRate) },
        { name: "noteshub_response_time_p95_seconds", help: `95th percentile response time over the last ${s.windowSec} s.`, type: "gauge", samples: per((c) => (s.colours[c].figures.p95Ms === undefined ? undefined : s.colours[c].figures.p95Ms! / 1000)) },
        { name: "noteshub_health_up", help: "1 when the colour's last /health answer was healthy.", type: "gauge", samples: per((c) => (s.colours[c].healthy === undefined ? undefined : s.colours[c].healthy ? 1 : 0)) },
        {
            name: "noteshub_alert_level", help: "Runbook thresholds: 0 ok, 1 warning, 2 critical, -1 too few requests to judge.", type: "gauge",
            samples: [
                ...COLORS.flatMap((c) => (["errorRate", "p95"] as const).map((m) => [{ stack: s.stack, color: c, metric: m === "errorRate" ? "error_rate" : "p95" }, LEVEL[s.colours[c].levels[m]]] as [Record<string, string>, number])),
                [{ stack: s.stack, metric: "database" }, LEVEL[s.database.level]],
            ],
        },
        { name: "noteshub_database_up", help: "1 when the watcher's last database query succeeded.", type: "gauge", samples: [[{ stack: s.stack }, s.database.up ? 1 : 0]] },
        { name: "noteshub_database_query_seconds", help: `Average database query time over the last ${s.windowSec} s.`, type: "gauge", samples: [[{ stack: s.stack }, s.database.avgQueryMs === undefined ? undefined : s.database.avgQueryMs / 1000]] },
    ];
    const lines: string[] = [];
    for (const m of metrics) {
        const present = m.samples.filter(([, v]) => v !== undefined && Number.isFinite(v));
        if (!present.length) continue;
        lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
        for (const [labels, v] of present) {
            lines.push(`${m.name}{${Object.entries(labels).map(([k, val]) => `${k}="${esc(val)}"`).join(",")}} ${fmt(v!)}`);
        }
    }
    return lines.join("\n") + "\n";
}
