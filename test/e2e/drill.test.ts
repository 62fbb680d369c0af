// noteshub drill end to end (issue #7) on a staging-shaped stack with short windows: every step passes, the report
// carries the figures (detect and recover times, failed requests, document and upload counts before and after),
// its three files are written, and the stack is back as it was.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { http, TestStack, startTestStack } from "../helpers/stack";

const STACK = "e2e-drill";
const WINDOW = 3;

describe("noteshub drill (real engine, short windows)", { timeout: 20 * 60_000 }, () => {
    let stack: TestStack;
    let url = "";
    const out = mkdtempSync(join(tmpdir(), "noteshub-drill-"));
    const declared = () => {
        const c = JSON.parse(stack.must("config", "--json").stdout) as Record<string, { value?: string }>;
        const parse = (v?: string) => { try { return JSON.parse(v ?? "null"); } catch { return v; } };
        const values = Object.fromEntries(["activeColor", "traffic", "blueVersion", "greenVersion", "retainedVersions", "schema", "app"].map((k) => [k, parse(c[`noteshub:${k}`]?.value)]));
        return { ...values, traffic: values.traffic ?? 100 }; // absent means 100
    };

    before(async () => {
        ({ stack, url } = await startTestStack(STACK));
    });
    after(() => {
        stack?.dispose();
        if (!process.env.KEEP_DRILL) rmSync(out, { recursive: true, force: true });
    });

    it("runs every step under load, puts the stack back, and reports the figures", async () => {
        const beforeDrill = declared();
        const r = await stack.noteshub("drill", "--window", String(WINDOW), "--out", out).done;
        assert.equal(r.code, 0, r.stderr);
        const report = JSON.parse(readFileSync(join(out, "drill.json"), "utf8"));
        assert.equal(report.passed, true, r.stderr);
        assert.deepEqual(report.steps.map((s: any) => [s.name, s.passed]), [
            ["release failing health", true], ["release answering 20 % errors", true], ["healthy release", true], ["immediate rollback", true], ["standard rollback", true],
        ]);
        const [gate, errors, deploy, immediate, standard] = report.steps;
        assert.equal(gate.failed, 0, "the gate kept every user away from the release failing health");
        assert.ok(gate.detectSec > 0);
        assert.ok(errors.detectSec >= WINDOW && errors.detectSec < WINDOW + 3, `detect ${errors.detectSec}`);
        // Recovery includes the next step's pulumi up (the trigger is judged when that step is watched): 36 s on a loaded
        // CI machine (2026-12-02), so only a bound here; the figure is the drill report's.
        assert.ok(errors.recoverSec > 0 && errors.recoverSec <= WINDOW + 60, `recover ${errors.recoverSec} (bound: window + 60 s)\n${r.stderr}`);
        assert.ok(errors.failed > 0, "the errors release did answer errors");
        assert.equal(deploy.failed, 0);
        assert.equal(immediate.failed, 0);
        assert.equal(standard.failed, 0);
        assert.ok(immediate.recoverSec < 10, `immediate rollback moved traffic after ${immediate.recoverSec} s`);
        assert.ok(report.steps.every((s: any) => s.requests > 0));
        assert.deepEqual(report.after, report.before);
        assert.deepEqual(report.notesKept, { created: 3, found: 3 });
        assert.ok(report.before.uploads >= 3);
        assert.match(report.healthAfter, /^blue v1\.0\.0 healthy, green v1\.0\.1 healthy$/);
        assert.ok(report.timeline.length > 20 && report.marks.length === 7, JSON.stringify(report.marks)); // 5 steps, the trigger, the restore
        assert.match(readFileSync(join(out, "drill.md"), "utf8"), /^# Rollback drill: e2e-drill, [\s\S]*\*\*PASSED\*\*[\s\S]*\| release answering 20 % errors \| .* \| pass: rolled back: error rate/);
        assert.match(readFileSync(join(out, "drill.svg"), "utf8"), /^<svg [\s\S]*<\/svg>\n$/);
        // Back as it was: the declared state, traffic, and nothing left of the drill's faults.
        assert.deepEqual(declared(), beforeDrill);
        assert.deepEqual(((await http(`${url}/lb/status`)).body as any).weights, { blue: 100, green: 0 });
        assert.ok(existsSync(stack.logFile));
    });
});
