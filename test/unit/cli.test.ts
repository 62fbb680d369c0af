// Pieces of the CLI that need no stack: the error a user reads, and the command lock.
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BusyError, lockStack } from "../../cli/lock";
import { appendLog, logFile, readLog } from "../../cli/log";
import { cleanError } from "../../cli/run";
import { deployLockOf, LockedError, refuseWhenLocked } from "../../cli/deployLock";
import { movesColours, type LogEntry } from "../../cli/log";
import { runHooks } from "../../cli/hooks";
import { pausedDeployOf } from "../../cli/pause";
import { rolledBackFrom } from "../../cli/watch";
import type { Context } from "../../cli/context";
import type { NotesHubConfig } from "../../infra/config";

const dir = mkdtempSync(join(tmpdir(), "noteshub-lock-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("cleanError", () => {
    it("keeps pulumi's policy violations and diagnostics, drops the command line and outputs", () => {
        const text = "Command failed with exit code 255: pulumi up --yes\nUpdating (s):\n    pulumi:pulumi:Stack s running error\n" +
            "Policies:\n    ❌ noteshub@v0.1.0 (local: policy)\n        - [mandatory]  migrations-have-downs\n          no down\n" +
            "Diagnostics:\n  pulumi:pulumi:Stack (s):\n    error: preview failed\nOutputs:\n    url: x\n";
        assert.equal(cleanError(new Error(text)), "Policies:\n    ❌ noteshub@v0.1.0 (local: policy)\n        - [mandatory]  migrations-have-downs\n          no down\nDiagnostics:\n  pulumi:pulumi:Stack (s):\n    error: preview failed");
    });
});

describe("lockStack", () => {
    it("refuses a second command, naming the first, until the first releases", () => {
        const first = lockStack(dir, "s1", "deploy v1.1.0");
        assert.throws(() => lockStack(dir, "s1", "rollback"), (e: Error) => e instanceof BusyError && /stack s1 is busy: `noteshub deploy v1\.1\.0` \(pid \d+/.test(e.message));
        first.release();
        lockStack(dir, "s1", "rollback").release();
    });

    it("takes over the lock of a command whose process is gone, and says so", () => {
        writeFileSync(join(dir, "s2.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: "deploy v2.0.0", startedAt: "then" }));
        const l = lockStack(dir, "s2", "rollback");
        assert.equal(l.tookOver?.command, "deploy v2.0.0");
        l.release();
    });
});

describe("deployment log", () => {
    it("appends one JSON line per entry and reads them back oldest first, skipping a line a crash cut short", () => {
        const file = logFile(dir, "s3");
        appendLog(file, { stack: "s3", who: "ana@host", command: "rollback", event: "command-started", what: "rollback: all traffic back to blue", why: "operator command: noteshub rollback", ok: true });
        appendFileSync(file, '{"time":"2026-11-30T');
        appendFileSync(file, "\n");
        appendLog(file, { stack: "s3", who: "ana@host", command: "rollback", event: "command-finished", what: "rollback", why: "operator command: noteshub rollback", ok: true, seconds: 2.5 });
        const entries = readLog(file);
        assert.deepEqual(entries.map((e) => [e.event, e.who, e.seconds]), [["command-started", "ana@host", undefined], ["command-finished", "ana@host", 2.5]]);
        assert.match(entries[0].time, /^\d{4}-\d\d-\d\dT/);
        assert.deepEqual(readLog(logFile(dir, "none")), []);
    });
});

describe("deploy lock (noteshub lock --reason)", () => {
    const entry = (event: LogEntry["event"], who: string, why: string, time: string, ok = true): LogEntry => ({ time, stack: "s", who, command: event, event, what: event, why, ok });
    it("is the last locked entry with no unlocked after it; a failed one does not count", () => {
        assert.equal(deployLockOf([]), undefined);
        const locked = entry("locked", "ana@laptop", "incident 42", "2026-12-03T01:00:00.000Z");
        assert.deepEqual(deployLockOf([entry("command-finished", "x", "y", "t"), locked]), { who: "ana@laptop", reason: "incident 42", since: "2026-12-03T01:00:00.000Z" });
        assert.equal(deployLockOf([locked, entry("unlocked", "bo@desk", "operator command: noteshub unlock", "2026-12-03T02:00:00.000Z")]), undefined);
        assert.equal(deployLockOf([entry("locked", "x", "failed", "t", false)]), undefined);
        const again = entry("locked", "bo@desk", "freeze for the audit", "2026-12-03T03:00:00.000Z");
        assert.equal(deployLockOf([locked, entry("unlocked", "bo@desk", "", "t"), again])?.reason, "freeze for the audit");
    });
    it("refuses with who, since when, why and the way out (exit 3, like a busy stack)", () => {
        const locked = entry("locked", "ana@laptop", "incident 42", "2026-12-03T01:00:00.000Z");
        assert.throws(() => refuseWhenLocked([locked], "production", "deploy v1.2.0"), (e: Error) => e instanceof LockedError && e instanceof BusyError &&
            e.message === 'deploy v1.2.0 refused: stack production is locked for deploys by ana@laptop since 2026-12-03T01:00:00.000Z: "incident 42". Rollbacks still run. Nothing was changed. When deploys may go on: npm run noteshub -- unlock --stack production');
        refuseWhenLocked([], "production", "deploy v1.2.0");
    });
});

describe("pauses and what ends them", () => {
    const d = (activeColor: "blue" | "green", traffic: number) => ({ activeColor, traffic, blueVersion: "v1.0.0", greenVersion: "v1.1.0", retainedVersions: { current: "v1.1.0", previous: "v1.0.0", archived: "v0.9.0" }, schema: {} });
    const e = (event: LogEntry["event"], command: string, what = command, figures?: Record<string, unknown>): LogEntry => ({ time: "2026-12-03T01:00:00.000Z", stack: "s", who: "ana@laptop", command, event, what, why: "", ok: true, figures });
    const pause = e("paused", "deploy v1.1.0 --pause-at 25", "paused at 25 %", { version: "v1.1.0", at: 25, remaining: [50, 100], declared: d("green", 25), before: d("blue", 100), watchSec: 0 });
    it("holds while the stack declares what it paused at and no command moved the colours; maintenance and locks do not end it", () => {
        assert.deepEqual(pausedDeployOf([pause], d("green", 25)), { ...(pause.figures as object), color: "green", who: "ana@laptop", since: pause.time });
        assert.ok(pausedDeployOf([pause, e("command-started", "maintenance on --message x"), e("locked", "lock --reason y")], d("green", 25)));
        for (const later of [e("command-started", "promote"), e("command-started", "abort"), e("command-started", "rollback"), e("command-started", "watch --for 0", "rollback (trigger errorRate)")]) {
            assert.equal(pausedDeployOf([pause, later], d("green", 25)), undefined, later.command);
        }
        assert.equal(pausedDeployOf([pause], d("blue", 100)), undefined, "the stack moved on");
    });
    it("an operator acting clears what the watcher rolled back from; maintenance, a lock or a watch do not", () => {
        const trigger: LogEntry = { ...e("trigger", "watch --for 0", "rolled back"), figures: { rolledBackFrom: "green@v1.1.0" } };
        assert.deepEqual([...rolledBackFrom([trigger, e("command-started", "maintenance on --message x"), e("command-started", "lock --reason y"), e("command-started", "watch")])], ["green@v1.1.0"]);
        assert.deepEqual([...rolledBackFrom([trigger, e("command-started", "deploy v1.2.0")])], []);
        assert.equal(movesColours(e("command-started", "release v1.2.0")), false);
    });
});

describe("hooks (real processes and a real HTTP server)", () => {
    const said: string[] = [];
    const logged: unknown[] = [];
    const ctx = { stack: { name: "s" }, say: (t: string) => said.push(t), log: (...entry: unknown[]) => logged.push(entry) } as unknown as Context;
    const cfgOf = (hooks: Partial<NotesHubConfig["hooks"]>) => ({ hooks: { preDeploy: [], postDeploy: [], preRollback: [], postRollback: [], timeoutSec: 1, ...hooks } }) as unknown as NotesHubConfig;
    it("a hook that hangs, and what it started, are stopped at the timeout", async () => {
        const started = Date.now();
        const [r] = await runHooks(ctx, cfgOf({ postRollback: ["sleep 30 & sleep 30"] }), "post-rollback", {});
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
        assert.deepEqual([r.ok, /stopped after 1 s: hooks.timeoutSec/.test(r.output)], [false, true]);
    });
    it("gets the facts on stdin; a failing pre-deploy hook stops the ones after it; a URL is named by its host only", async () => {
        const [r] = await runHooks(ctx, cfgOf({ postDeploy: ["cat"] }), "post-deploy", { version: "v1.2.0" });
        assert.deepEqual([JSON.parse(r.output).event, JSON.parse(r.output).version, JSON.parse(r.output).stack], ["post-deploy", "v1.2.0", "s"]);
        await assert.rejects(runHooks(ctx, cfgOf({ preDeploy: ["echo frozen >&2; exit 3", "touch /tmp/noteshub-hook-must-not-run"] }), "pre-deploy", {}), /pre-deploy hook echo frozen >&2; exit 3 failed, so nothing was changed:\nfrozen\n\(exited 3\)/);
        assert.equal(existsSync("/tmp/noteshub-hook-must-not-run"), false);
        const [u] = await runHooks(ctx, cfgOf({ preRollback: ["http://user:pw@127.0.0.1:9/services/SECRET/PATH?token=x"] }), "pre-rollback", {});
        assert.equal(u.hook, "http://127.0.0.1:9/…");
        assert.ok(!JSON.stringify(logged).includes("SECRET") && !said.join("").includes("SECRET"), "the URL's secret is in no log line");
    });
});
