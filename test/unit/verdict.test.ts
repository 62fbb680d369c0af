import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { judgeHealth, judgeSmoke, Streak } from "../../infra/health/verdict";

const body = (o: object) => JSON.stringify(o);
const healthy = { status: 200, body: body({ status: "healthy", version: "v1.0.1", checks: { database: "ok", storage: "ok" } }) };

describe("judgeHealth", () => {
    it("passes 200 + healthy + the configured version, with or without the v", () => {
        assert.deepEqual(judgeHealth(healthy, "v1.0.1"), { ok: true, reason: "healthy" });
        assert.equal(judgeHealth({ status: 200, body: body({ status: "healthy", version: "1.0.1" }) }, "v1.0.1").ok, true);
    });

    it("fails with the reason a user needs", () => {
        assert.deepEqual(judgeHealth(healthy, "v1.0.2"), { ok: false, reason: 'reports version "v1.0.1", configured v1.0.2' });
        assert.deepEqual(judgeHealth({ status: 503, body: body({ status: "unhealthy", version: "v1.0.1", checks: { database: "error: timeout" } }) }, "v1.0.1"),
            { ok: false, reason: 'HTTP 503, status "unhealthy", checks {"database":"error: timeout"}' });
        assert.deepEqual(judgeHealth({ status: 200, body: body({ status: "degraded", version: "v1.0.1" }) }, "v1.0.1"), { ok: false, reason: 'status "degraded", checks {}' });
        assert.deepEqual(judgeHealth({ status: 0, body: "", error: "curl: (7) Failed to connect" }, "v1.0.1"), { ok: false, reason: "no answer (curl: (7) Failed to connect)" });
        assert.deepEqual(judgeHealth({ status: 502, body: "<html>Bad Gateway</html>" }, "v1.0.1"), { ok: false, reason: "HTTP 502, body is not JSON: <html>Bad Gateway</html>" });
    });
});

describe("judgeSmoke", () => {
    it("compares the status", () => {
        assert.equal(judgeSmoke({ status: 200, body: "{}" }, { method: "GET", path: "/api/notes", status: 200 }).ok, true);
        assert.deepEqual(judgeSmoke({ status: 500, body: '{"error":"boom"}' }, { method: "GET", path: "/api/notes", status: 200 }), { ok: false, reason: 'HTTP 500, expected 200: {"error":"boom"}' });
    });
});

describe("Streak", () => {
    const ok = { ok: true, reason: "" };
    const bad = { ok: false, reason: "" };
    it("passes after N good answers in a row and fails after M bad ones in a row", () => {
        const s = new Streak(3, 3);
        assert.deepEqual([ok, ok, ok].map((v) => s.record(v)), ["continue", "continue", "pass"]);
        const f = new Streak(3, 3);
        assert.deepEqual([bad, bad, bad].map((v) => f.record(v)), ["continue", "continue", "fail"]);
    });
    it("never passes a flapping colour on a lucky answer", () => {
        const s = new Streak(3, 3);
        const results = Array.from({ length: 20 }, (_, i) => s.record(i % 2 ? bad : ok));
        assert.ok(results.every((r) => r === "continue"));
    });
    it("a single blip resets the run but does not fail", () => {
        const s = new Streak(3, 3);
        assert.deepEqual([ok, ok, bad, ok, ok, ok].map((v) => s.record(v)), ["continue", "continue", "continue", "continue", "continue", "pass"]);
    });
});
