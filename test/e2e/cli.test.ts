// The operator's commands end to end on a staging-shaped stack (issue #6): deploy with a gradual shift, each kind of
// rollback, status, history and revert, through the real Automation API, pulumi, Docker, nginx and FerretDB.
// Bad input exits 2 and leaves the stack config as it was; a second command while one runs exits 3 naming the first.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { http, noteshubOn, TestStack, startTestStack } from "../helpers/stack";

const STACK = "e2e-cli";

describe("noteshub CLI (real Automation API, pulumi, Docker, nginx, FerretDB)", { timeout: 25 * 60_000 }, () => {
    let stack: TestStack;
    let url = "";
    const { cli, must } = noteshubOn(() => stack);
    const configText = () => readFileSync(stack.configFile, "utf8");
    const served = async (cookie?: string) => (await http(`${url}/`, { headers: cookie ? { cookie } : {} })).body as { version: string; color: string };

    before(async () => {
        // Each traffic step is watched stepSec (default 60 s, the runbook's pace) and 100 % watchSec (30 min); the
        // triggers have their own suite (test/e2e/watch.test.ts).
        ({ stack, url } = await startTestStack(STACK, { monitoring: { stepSec: 1, watchSec: 1 } }));
    });
    after(() => stack?.dispose());

    it("status: live colour, split, both colours healthy, schema, retained", async () => {
        const r = await must("status");
        assert.equal(r.json.activeColor, "blue");
        assert.deepEqual(r.json.traffic, { blue: 100, green: 0 });
        assert.deepEqual([r.json.colours.blue.version, r.json.colours.blue.healthy, r.json.colours.green.version, r.json.colours.green.healthy], ["v1.0.0", true, "v1.0.1", true]);
        assert.equal(r.json.balancerMatchesDeclared, true);
        assert.deepEqual(r.json.schema, { database: 2, target: 2 });
    });

    it("bad input: a malformed version, a version not retained, an unknown command: exit 2, nothing changed", async () => {
        const before = configText();
        const bad = await cli("deploy", "latest");
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /noteshub deploy: "latest" is not a version like v1\.2\.3\nNothing was changed\./);
        const notRetained = await cli("rollback", "--to", "v0.1.0");
        assert.equal(notRetained.code, 2);
        assert.match(notRetained.stderr, /v0\.1\.0 is not a retained version \(v1\.0\.1, v1\.0\.0, v0\.9\.0\)/);
        assert.equal((await cli("launch")).code, 2);
        const watch = await cli("deploy", "v1.1.0", "--watch", "5m");
        assert.equal(watch.code, 2);
        assert.match(watch.stderr, /--watch must be whole seconds \(0 or more\), got 5m\nNothing was changed\./);
        assert.equal(configText(), before);
    });

    it("deploy v1.1.0: new version on the idle colour, traffic 10 -> 25 -> 50 -> 100; a second command meanwhile is refused", async () => {
        const deploying = cli("deploy", "v1.1.0");
        await new Promise((r) => setTimeout(r, 3000));
        const second = await cli("rollback");
        assert.equal(second.code, 3, second.stderr);
        assert.match(second.stderr, /stack e2e-cli is busy: `noteshub deploy v1\.1\.0` \(pid \d+ on .+, started .+\) is running/);
        const r = await deploying;
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.json.steps.map((s: { label: string }) => s.label), [
            "start v1.1.0 on green (migrations, health gate; no traffic yet)",
            "green (v1.1.0) gets 10 % of traffic", "green (v1.1.0) gets 25 % of traffic", "green (v1.1.0) gets 50 % of traffic", "green (v1.1.0) gets 100 % of traffic",
        ]);
        assert.match(r.stderr, /step 3\/5: green \(v1\.1\.0\) gets 25 % of traffic/, "progress shown as it happens");
        assert.deepEqual(await served(), { service: "noteshub-api", version: "v1.1.0", color: "green" } as never);
        const s = (await must("status")).json;
        assert.deepEqual(s.retainedVersions, { current: "v1.1.0", previous: "v1.0.1", archived: "v1.0.0" });
        assert.deepEqual(s.traffic, { blue: 0, green: 100 });
    });

    it("rollback (immediate): all traffic back to blue, which kept running, moved as soon as blue passes its check", async () => {
        const r = await must("rollback");
        const moved = /\[noteshub \+([\d.]+)s\] traffic is on blue \(v1\.0\.0\); recording it with pulumi up/.exec(r.stderr);
        assert.ok(moved, r.stderr);
        console.log(`# immediate rollback: traffic moved at +${moved[1]} s, ${(r.ms / 1000).toFixed(1)} s wall with the record`);
        assert.deepEqual((await must("status")).json.traffic, { blue: 100, green: 0 }, "declared, recorded and live agree");
        assert.equal((await served()).color, "blue");
        assert.equal((await served("noteshub_color=green")).color, "blue");
    });

    it("rollback --to v1.0.1 (standard): started on the idle colour, then all traffic to it", async () => {
        const r = await must("rollback", "--to", "v1.0.1");
        assert.deepEqual(r.json.steps.map((s: { label: string }) => s.label), ["start v1.0.1 on green (health gate; no traffic yet)", "all traffic to green (v1.0.1)"]);
        assert.deepEqual(await served(), { service: "noteshub-api", version: "v1.0.1", color: "green" } as never);
    });

    it("rollback --to v1.0.0: traffic to blue, and green follows so 002's down runs; then nothing is left to roll back to", async () => {
        const r = await must("rollback", "--to", "v1.0.0");
        assert.equal(r.json.steps.length, 2);
        const s = (await must("status")).json;
        assert.deepEqual(s.schema, { database: 1, target: 1 });
        assert.deepEqual([s.colours.blue.version, s.colours.green.version, s.activeColor], ["v1.0.0", "v1.0.0", "blue"]);
        const before = configText();
        const nothing = await cli("rollback");
        assert.equal(nothing.code, 2);
        assert.match(nothing.stderr, /nothing to roll back to: both colours run v1\.0\.0/);
        assert.equal(configText(), before);
    });

    it("rollback --emergency --restore-data: restarts the other colour, sends everything to it, restores only the release's backups", async () => {
        const r = await must("rollback", "--emergency", "--restore-data");
        assert.match(r.stderr, /emergency: restarting noteshub-e2e-cli-green/);
        // Both colours run v1.0.0 here: the release left behind needs no migration of its own, so nothing is restored
        // (restoring another migration's backup would overwrite data; test/providers/migrations.test.ts restores one).
        assert.match(r.stderr, /v1\.0\.0 needs no migration v1\.0\.0 does not: no backup of its to restore; the data was left as it is/);
        assert.deepEqual(r.json.restored, []);
        assert.equal((await served()).color, "green");
    });

    it("history lists every step with its message; revert re-applies an earlier update's config", async () => {
        const rows = (await must("history")).json as { position: number; message: string; result: string; activeColor: string; greenVersion: string; traffic: number }[];
        const full = rows.find((h) => h.message === "noteshub deploy v1.1.0: green (v1.1.0) gets 100 % of traffic")!;
        assert.ok(full, rows.map((h) => h.message).join("\n"));
        assert.deepEqual([full.result, full.activeColor, full.greenVersion, full.traffic], ["succeeded", "green", "v1.1.0", 100]);
        assert.ok(rows.some((h) => h.message === "noteshub rollback --emergency: all traffic to green (v1.0.0), the last known good colour"));
        await must("revert", String(full.position));
        assert.deepEqual(await served(), { service: "noteshub-api", version: "v1.1.0", color: "green" } as never);
        const s = (await must("status")).json;
        assert.deepEqual(s.schema, { database: 2, target: 2 });
        assert.equal(s.balancerMatchesDeclared, true);
        assert.equal((await cli("revert", "999")).code, 2);
    });

    it("log: every command, step and restore with who, what, why and the figures, oldest first", async () => {
        const entries = (await must("log", "--last", "500")).json as { who: string; command: string; event: string; what: string; why: string; ok: boolean; seconds?: number; figures?: any }[];
        const deploy = entries.filter((e) => e.command === "deploy v1.1.0");
        assert.deepEqual(deploy.map((e) => [e.event, e.ok]), [["command-started", true], ["step", true], ["step", true], ["step", true], ["step", true], ["step", true], ["command-finished", true]]);
        assert.ok(deploy.every((e) => e.who === "e2e@ci" && e.why === "operator command: noteshub deploy v1.1.0"));
        assert.equal(deploy[2].what, "green (v1.1.0) gets 10 % of traffic");
        assert.deepEqual([deploy[2].figures.declared.activeColor, deploy[2].figures.declared.traffic], ["green", 10]);
        assert.ok(typeof deploy[6].seconds === "number" && deploy[6].seconds > 0);
        assert.ok(entries.some((e) => e.command === "rollback --emergency --restore-data" && e.what === "no backup to restore"));
        assert.ok(entries.some((e) => e.event === "command-finished" && e.what.startsWith("revert to update")));
        assert.ok(!entries.some((e) => e.command.startsWith("status")), "read-only commands are not logged");
    });
});
