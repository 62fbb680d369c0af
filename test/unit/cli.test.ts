// Pieces of the CLI that need no stack: the error a user reads, and the command lock.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BusyError, lockStack } from "../../cli/lock";
import { appendLog, logFile, readLog } from "../../cli/log";
import { cleanError } from "../../cli/run";
import { deployLockOf, LockedError, refuseWhenLocked } from "../../cli/deployLock";
import type { LogEntry } from "../../cli/log";

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
