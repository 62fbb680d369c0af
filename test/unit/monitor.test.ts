// The watcher's pure parts: the access log line, the sliding window, the runbook's levels and rollback triggers,
// the Prometheus text, and the runbook's message templates; and the notifier against a local HTTP receiver.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { parseConfig } from "../../infra/config";
import { parseLine } from "../../cli/monitor/accessLog";
import { colourLevels, levelOf } from "../../cli/monitor/levels";
import { renderPrometheus } from "../../cli/monitor/prometheus";
import { Triggers } from "../../cli/monitor/triggers";
import { ColourWindow } from "../../cli/monitor/window";
import { healthAnswer } from "../../cli/monitor/watcher";
import { Notifier, renderNotice } from "../../cli/notify";
import { rawConfig } from "../helpers/config";

const monitoring = (m: Record<string, unknown> = {}) => parseConfig(rawConfig({ database: { password: "a-long-staging-password" }, monitoring: m }), "unit").monitoring;
const req = (at: number, status: number, ms = 5) => ({ at, color: "green" as const, status, seconds: ms / 1000, failed: status >= 500 });

describe("access log line", () => {
    it("reads nginx's JSON line; anything else is not a request", () => {
        assert.deepEqual(parseLine('{"t":1796052047.057,"c":"blue","s":502,"rt":0.006,"us":"502","ut":"0.006"}'), { at: 1796052047057, color: "blue", status: 502, seconds: 0.006, failed: true });
        assert.equal(parseLine('{"t":1796052047.057,"c":"green","s":200,"rt":0.010,"us":"200","ut":"0.010"}')?.failed, false);
        assert.equal(parseLine('{"t":1,"c":"none","s":502,"rt":0,"us":"","ut":""}'), undefined);
        // The colour's time, not the client's: a 9 s slow upload the colour answered in 4 ms is 4 ms; retries add up.
        assert.equal(parseLine('{"t":1,"c":"green","s":201,"rt":9.004,"us":"201","ut":"0.004"}')?.seconds, 0.004);
        assert.equal(parseLine('{"t":1,"c":"green","s":200,"rt":1.5,"us":"502, 200","ut":"0.250, 0.500"}')?.seconds, 0.75);
        // A client that gave up (499) or sent a bad request (4xx) is not the release failing; nginx alone has no time.
        assert.deepEqual(parseLine('{"t":1,"c":"green","s":499,"rt":30,"us":"","ut":"-"}'), { at: 1000, color: "green", status: 499, seconds: undefined, failed: false });
        assert.equal(parseLine('{"t":1,"c":"green","s":400,"rt":0.001,"us":"400","ut":"0.001"}')?.failed, false);
        assert.equal(parseLine("2026/11/30 nginx: [warn] something"), undefined);
        assert.equal(parseLine('{"t":1796052047.0'), undefined);
    });
});

describe("sliding window", () => {
    it("counts rate, errors and p95 over the last N seconds only", () => {
        const w = new ColourWindow(60);
        const t0 = 1_000_000_000;
        for (let i = 0; i < 100; i++) w.add(req(t0 + i * 10, i < 20 ? 500 : 200, i < 95 ? 10 : 900)); // second 0
        for (let i = 0; i < 10; i++) w.add(req(t0 + 5000 + i, 200, 2)); // second 5
        const f = w.figures(t0 + 5500, 10);
        assert.equal(f.requests, 110);
        assert.equal(f.failed, 20);
        assert.equal(f.rate, 11);
        assert.ok(Math.abs(f.errorRate - (100 * 20) / 110) < 1e-9);
        assert.ok(f.p95Ms! >= 10 && f.p95Ms! <= 11, `p95 ${f.p95Ms}`); // 105th of 110 is a 10 ms one
        const recent = w.figures(t0 + 5500, 3);
        assert.deepEqual([recent.requests, recent.failed, recent.errorRate], [10, 0, 0]);
        assert.ok(recent.p95Ms! >= 2 && recent.p95Ms! <= 2.2);
        assert.equal(w.figures(t0 + 100_000, 10).p95Ms, undefined);
    });
});

describe("levels (runbook thresholds)", () => {
    it("error rate 1 %/5 %, p95 1 s/3 s; too few requests is unknown", () => {
        const m = monitoring();
        assert.equal(levelOf(0.5, 1, 5), "ok");
        assert.equal(levelOf(1.5, 1, 5), "warning");
        assert.equal(levelOf(5.5, 1, 5), "critical");
        assert.deepEqual(colourLevels(m, { requests: 100, failed: 2, rate: 10, errorRate: 2, p95Ms: 3500 }), { errorRate: "warning", p95: "critical" });
        assert.deepEqual(colourLevels(m, { requests: 3, failed: 3, rate: 1, errorRate: 100, p95Ms: 10 }), { errorRate: "unknown", p95: "unknown" });
    });
});

describe("rollback triggers", () => {
    const figures = (requests: number, errorRate: number, p95Ms = 10) => ({ requests, failed: Math.round((requests * errorRate) / 100), rate: requests, errorRate, p95Ms });

    it("error rate above 10 % fires only after it held for forSec, once", () => {
        const t = new Triggers(monitoring({ triggers: { errorRate: { percent: 10, forSec: 5 } } }));
        assert.equal(t.traffic(0, figures(100, 20), figures(100, 20)), undefined);
        assert.equal(t.traffic(4000, figures(100, 20), figures(100, 20)), undefined);
        const f = t.traffic(5000, figures(100, 20), figures(100, 20))!;
        assert.equal(f.trigger, "error-rate");
        assert.equal(f.firstBadAt, 0);
        assert.equal(f.reason, "error rate 20.0 % > 10 % for 5 s (20 of 100 requests failed in the last 5 s)");
        assert.equal(t.traffic(6000, figures(100, 20), figures(100, 20)), undefined, "one incident, one firing");
    });

    it("a dip below the threshold, or too few requests to judge, starts the clock again", () => {
        const t = new Triggers(monitoring({ triggers: { errorRate: { percent: 10, forSec: 5 } } }));
        t.traffic(0, figures(100, 20), figures(100, 20));
        t.traffic(3000, figures(100, 5), figures(100, 5));
        assert.equal(t.traffic(6000, figures(100, 20), figures(100, 20)), undefined);
        t.traffic(8000, figures(5, 100), figures(5, 100)); // 5 < minRequests 10: no evidence
        assert.equal(t.traffic(11_000, figures(100, 20), figures(100, 20)), undefined);
        assert.equal(t.traffic(16_000, figures(100, 20), figures(100, 20))?.trigger, "error-rate");
    });

    it("p95 above 5 s for forSec fires", () => {
        const t = new Triggers(monitoring({ triggers: { p95: { ms: 5000, forSec: 3 } } }));
        t.traffic(0, figures(50, 0, 6000), figures(50, 0, 6000));
        const f = t.traffic(3000, figures(50, 0, 6000), figures(50, 0, 6000))!;
        assert.equal(f.reason, "response time p95 6000 ms > 5000 ms for 3 s (50 requests in the last 3 s)");
    });

    it("health failing 3 times in a row fires; a single blip does not; database failures fire as database", () => {
        const bad = { ok: false, databaseOk: true, reason: "HTTP 503" };
        const good = { ok: true, databaseOk: true, reason: "healthy" };
        const t = new Triggers(monitoring());
        assert.equal(t.health(0, bad), undefined);
        assert.equal(t.health(1, good), undefined);
        assert.equal(t.health(2, bad), undefined);
        assert.equal(t.health(3, bad), undefined);
        const f = t.health(4, bad)!;
        assert.deepEqual([f.trigger, f.firstBadAt, f.reason], ["health", 2, "health check failed 3 times in a row (HTTP 503)"]);
        const d = new Triggers(monitoring({ triggers: { database: { failures: 2 } } }));
        const dbDown = { ok: false, databaseOk: false, reason: 'HTTP 503, status "unhealthy", checks {"database":"error: connection refused"}' };
        assert.equal(d.health(0, dbDown), undefined);
        assert.equal(d.health(1, dbDown)?.trigger, "database");
    });

    it("reads the colour's own database check from its /health answer", () => {
        assert.deepEqual(healthAnswer(200, '{"status":"healthy","version":"1.0.1","checks":{"database":"ok"}}', undefined, "v1.0.1"), { ok: true, databaseOk: true, reason: "healthy" });
        assert.equal(healthAnswer(503, '{"status":"unhealthy","version":"1.0.1","checks":{"database":"error: x"}}', undefined, "v1.0.1").databaseOk, false);
        assert.equal(healthAnswer(0, "", "refused", "v1.0.1").databaseOk, false);
    });
});

describe("Prometheus text", () => {
    it("renders both colours, levels and the database, exactly", () => {
        const f = { requests: 600, failed: 12, rate: 10, errorRate: 2, p95Ms: 120.5 };
        const text = renderPrometheus({
            at: 0, stack: "staging", live: "green", windowSec: 60,
            colours: {
                blue: { version: "v1.0.0", share: 0, figures: { requests: 0, failed: 0, rate: 0, errorRate: 0, p95Ms: undefined }, levels: { errorRate: "unknown", p95: "unknown" }, totalRequests: 900, totalFailed: 0, healthy: true },
                green: { version: "v1.0.1", share: 100, figures: f, levels: { errorRate: "warning", p95: "ok" }, totalRequests: 600, totalFailed: 12, healthy: true },
            },
            database: { up: true, avgQueryMs: 2.5, level: "ok" },
        });
        assert.equal(text, `# HELP noteshub_requests_total Requests the balancer answered, by the colour they went to.
# TYPE noteshub_requests_total counter
noteshub_requests_total{stack="staging",color="blue",version="v1.0.0"} 900
noteshub_requests_total{stack="staging",color="green",version="v1.0.1"} 600
# HELP noteshub_request_failures_total Of those, answered 5xx (the colour's own or nginx's 502/504).
# TYPE noteshub_request_failures_total counter
noteshub_request_failures_total{stack="staging",color="blue",version="v1.0.0"} 0
noteshub_request_failures_total{stack="staging",color="green",version="v1.0.1"} 12
# HELP noteshub_traffic_share_percent Percent of new requests the balancer sends the colour.
# TYPE noteshub_traffic_share_percent gauge
noteshub_traffic_share_percent{stack="staging",color="blue",version="v1.0.0"} 0
noteshub_traffic_share_percent{stack="staging",color="green",version="v1.0.1"} 100
# HELP noteshub_request_rate Requests per second over the last 60 s.
# TYPE noteshub_request_rate gauge
noteshub_request_rate{stack="staging",color="blue",version="v1.0.0"} 0
noteshub_request_rate{stack="staging",color="green",version="v1.0.1"} 10
# HELP noteshub_error_rate_percent Failed requests, percent, over the last 60 s.
# TYPE noteshub_error_rate_percent gauge
noteshub_error_rate_percent{stack="staging",color="blue",version="v1.0.0"} 0
noteshub_error_rate_percent{stack="staging",color="green",version="v1.0.1"} 2
# HELP noteshub_response_time_p95_seconds 95th percentile response time over the last 60 s.
# TYPE noteshub_response_time_p95_seconds gauge
noteshub_response_time_p95_seconds{stack="staging",color="green",version="v1.0.1"} 0.1205
# HELP noteshub_health_up 1 when the colour's last /health answer was healthy.
# TYPE noteshub_health_up gauge
noteshub_health_up{stack="staging",color="blue",version="v1.0.0"} 1
noteshub_health_up{stack="staging",color="green",version="v1.0.1"} 1
# HELP noteshub_alert_level Runbook thresholds: 0 ok, 1 warning, 2 critical, -1 too few requests to judge.
# TYPE noteshub_alert_level gauge
noteshub_alert_level{stack="staging",color="blue",metric="error_rate"} -1
noteshub_alert_level{stack="staging",color="blue",metric="p95"} -1
noteshub_alert_level{stack="staging",color="green",metric="error_rate"} 1
noteshub_alert_level{stack="staging",color="green",metric="p95"} 0
noteshub_alert_level{stack="staging",metric="database"} 0
# HELP noteshub_database_up 1 when the watcher's last database query succeeded.
# TYPE noteshub_database_up gauge
noteshub_database_up{stack="staging"} 1
# HELP noteshub_database_query_seconds Average database query time over the last 60 s.
# TYPE noteshub_database_query_seconds gauge
noteshub_database_query_seconds{stack="staging"} 0.0025
`);
    });
});

describe("notifications", () => {
    it("fills the runbook's templates, exactly", () => {
        const base = { stack: "staging", from: "v1.2.3", to: "v1.2.2", reason: "error rate 19.8 % > 10 % for 300 s" };
        assert.equal(renderNotice({ ...base, kind: "rollback-initiated" }), `🔴 ROLLBACK IN PROGRESS (staging)
Version: v1.2.3 → v1.2.2
Reason: error rate 19.8 % > 10 % for 300 s
Status: Switching traffic to previous version
ETA: 5 minutes`);
        assert.equal(renderNotice({ ...base, kind: "rollback-update", status: "recording with pulumi up", elapsedSec: 305 }), `🟠 ROLLBACK UPDATE (staging)
Version: v1.2.3 → v1.2.2
Reason: error rate 19.8 % > 10 % for 300 s
Status: recording with pulumi up
Elapsed: 5 min 5 s`);
        assert.equal(renderNotice({ ...base, kind: "rollback-completed", impact: "~6 min 2 s of degraded service on v1.2.3 (143 of 5210 requests to it failed)" }), `✅ ROLLBACK COMPLETED (staging)
Version: Now running v1.2.2
Status: All systems operational
Impact: ~6 min 2 s of degraded service on v1.2.3 (143 of 5210 requests to it failed)
Next Steps: Post-mortem scheduled for tomorrow`);
    });

    it("delivers in order, retries a failing receiver, and a dead one costs the caller nothing", async () => {
        const got: string[] = [];
        let fails = 1;
        const server = createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d)).on("end", () => {
                if (fails-- > 0) return void res.writeHead(500).end();
                got.push(JSON.parse(body).event);
                res.writeHead(200).end();
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
        const deliveries: { ok: boolean; attempts: number }[] = [];
        const n = new Notifier({ webhook: url, attempts: 3, timeoutSec: 2, backoffMs: () => 10, onDelivery: (d) => deliveries.push(d) });
        const base = { stack: "s", from: "v2", to: "v1", reason: "r" };
        n.send({ ...base, kind: "rollback-initiated" });
        n.send({ ...base, kind: "rollback-update" });
        n.send({ ...base, kind: "rollback-completed" });
        assert.equal(await n.flush(5000), true);
        server.close();
        assert.deepEqual(got, ["rollback-initiated", "rollback-update", "rollback-completed"]);
        assert.deepEqual(deliveries.map((d) => [d.ok, d.attempts]), [[true, 2], [true, 1], [true, 1]]);

        // A receiver that accepts and never answers: send() returns at once, flush() gives up at its bound.
        const hang = createServer(() => undefined);
        await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
        const dead = new Notifier({ webhook: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/`, attempts: 2, timeoutSec: 1, backoffMs: () => 10 });
        const t0 = Date.now();
        dead.send({ ...base, kind: "rollback-initiated" });
        assert.ok(Date.now() - t0 < 50, "send never waits for delivery");
        assert.equal(await dead.flush(300), false);
        assert.ok(Date.now() - t0 < 1000);
        hang.closeAllConnections();
        hang.close();
    });
});

describe("monitoring config", () => {
    it("has the runbook's values by default and reports bad ones with their path", () => {
        const m = monitoring();
        assert.deepEqual([m.triggers.errorRate, m.triggers.p95, m.triggers.health.failures, m.warning, m.critical], [
            { percent: 10, forSec: 300 }, { ms: 5000, forSec: 300 }, 3, { errorRate: 1, p95Ms: 1000, dbQueryMs: 100 }, { errorRate: 5, p95Ms: 3000, dbQueryMs: 500 },
        ]);
        assert.throws(() => monitoring({ triggers: { errorRate: { percent: 150 } } }), /noteshub:monitoring\.triggers\.errorRate\.percent: must be 0-100/);
        assert.throws(() => parseConfig(rawConfig({ database: { password: "a-long-staging-password" }, notifications: { webhook: "ftp://x" } }), "unit"), /noteshub:notifications\.webhook: must be an http\(s\) URL/);
    });
});

describe("watch", () => {
    it("prints the live colour first, with levels, health and the database", async () => {
        const { snapshotLine } = await import("../../cli/watch");
        const f = { requests: 600, failed: 12, rate: 10, errorRate: 2, p95Ms: 120.5 };
        assert.equal(snapshotLine({
            at: 0, stack: "staging", live: "green", windowSec: 60,
            colours: {
                blue: { version: "v1.0.0", share: 0, figures: { requests: 0, failed: 0, rate: 0, errorRate: 0, p95Ms: undefined }, levels: { errorRate: "unknown", p95: "unknown" }, totalRequests: 0, totalFailed: 0, healthy: true },
                green: { version: "v1.0.1", share: 100, figures: f, levels: { errorRate: "warning", p95: "ok" }, totalRequests: 600, totalFailed: 12, healthy: false },
            },
            database: { up: false, level: "critical", error: "connect ECONNREFUSED" },
        }), "green v1.0.1 100% 10.0 req/s err 2.0% (warning) p95 121 ms (ok) health FAILING | blue v1.0.0 0% 0.0 req/s err 0.0% (unknown) p95 - (unknown) health ok | db DOWN (connect ECONNREFUSED) (critical)");
    });

    it("never sends traffic back to a colour@version an automatic rollback left, until an operator acts (from the log)", async () => {
        const { rolledBackFrom } = await import("../../cli/watch");
        const { appendLog, readLog } = await import("../../cli/log");
        const { mkdtempSync, rmSync } = await import("node:fs");
        const { tmpdir } = await import("node:os");
        const { join } = await import("node:path");
        const dir = mkdtempSync(join(tmpdir(), "noteshub-log-"));
        const file = join(dir, "s.jsonl");
        const base = { stack: "s", who: "t", command: "watch", what: "x", why: "y" };
        appendLog(file, { ...base, event: "trigger", ok: true, figures: { rolledBackFrom: "green@v1.0.1" } });
        appendLog(file, { ...base, event: "trigger", ok: false, figures: { rolledBackFrom: "blue@v1.0.0" } }); // not acted on
        appendLog(file, { ...base, event: "step", ok: true });
        assert.deepEqual([...rolledBackFrom(readLog(file))], ["green@v1.0.1"]);
        appendLog(file, { ...base, command: "deploy v1.0.1", event: "command-started", ok: true }); // a human decided
        assert.deepEqual([...rolledBackFrom(readLog(file))], []);
        rmSync(dir, { recursive: true, force: true });
    });
});
