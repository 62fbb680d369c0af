// monitoring/: the Prometheus alert rules checked and unit-tested by the real promtool (Debian's, scripts/setup.sh
// --tests), the exposition `watch --metrics-port` serves linted by it, and the Grafana dashboard's queries held to
// the metrics that exposition has.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { renderPrometheus } from "../../cli/monitor/prometheus";

const DIR = join(__dirname, "..", "..", "monitoring");
const promtool = process.env.NOTESHUB_PROMTOOL ?? "promtool";
const run = (args: string[], input?: string) => {
    const r = spawnSync(promtool, args, { cwd: DIR, input, encoding: "utf8" });
    assert.ok(!r.error, `promtool (${promtool}) could not run: ${r.error?.message}; scripts/setup.sh --tests installs it`);
    return r;
};
const exposition = renderPrometheus({
    at: 0, stack: "staging", live: "green", windowSec: 60,
    colours: {
        blue: { version: "v1.0.0", share: 0, figures: { requests: 0, failed: 0, rate: 0, errorRate: 0, p95Ms: undefined }, levels: { errorRate: "unknown", p95: "unknown" }, totalRequests: 900, totalFailed: 0, healthy: true },
        green: { version: "v1.0.1", share: 100, figures: { requests: 600, failed: 12, rate: 10, errorRate: 2, p95Ms: 120.5 }, levels: { errorRate: "warning", p95: "ok" }, totalRequests: 600, totalFailed: 12, healthy: false },
    },
    database: { up: true, avgQueryMs: 2.5, level: "ok" },
});
const served = new Set([...exposition.matchAll(/^(noteshub_[a-z0-9_]+)\{/gm)].map((m) => m[1]));

describe("monitoring: alert rules and dashboard", () => {
    it("promtool finds the rules valid and their unit tests pass (the runbook's warning, critical and trigger levels)", () => {
        const check = run(["check", "rules", "alerts.yml"]);
        assert.equal(check.status, 0, check.stdout + check.stderr);
        assert.match(check.stdout, /SUCCESS: 11 rules found/);
        const test = run(["test", "rules", "alerts.test.yml"]);
        assert.equal(test.status, 0, test.stdout + test.stderr);
    });

    it("what watch serves passes promtool's exposition lint", () => {
        const r = run(["check", "metrics"], exposition);
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it("every metric the rules and the dashboard query is one watch serves", () => {
        const rules = readFileSync(join(DIR, "alerts.yml"), "utf8");
        const dashboard = JSON.parse(readFileSync(join(DIR, "grafana-dashboard.json"), "utf8"));
        const queries = [...dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr)), ...dashboard.annotations.list.map((a: { expr: string }) => a.expr), dashboard.templating.list[1].definition];
        const used = new Set([...[rules, ...queries].join("\n").matchAll(/\b(noteshub_[a-z0-9_]+)/g)].map((m) => m[1]));
        assert.ok(used.size >= 7);
        assert.deepEqual([...used].filter((m) => !served.has(m)), []);
        // Each panel reads one stack; the per-colour ones split by colour; the rollback triggers are annotations.
        for (const q of dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr))) assert.match(q, /stack="\$stack"/);
        assert.deepEqual(dashboard.panels.map((p: { title: string }) => p.title.split(" (")[0]), ["Requests/s by colour", "Traffic share", "Error rate", "p95 response time", "Database query time", "Health"]);
        assert.deepEqual(dashboard.annotations.list.map((a: { name: string }) => a.name), ["Traffic switches", "Rollback triggers", "Critical alerts"]);
        assert.ok(existsSync(join(DIR, "alerts.test.yml")));
    });
});
