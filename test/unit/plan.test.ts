// The operator commands' plans (cli/plan.ts): pure, so every rule is asserted exactly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PlanError, planDeploy, planEmergency, planImmediate, planRetire, planRevert, planRollbackTo, type Declared } from "../../cli/plan";
import { unfinishedMoveOf } from "../../cli/retire";
import { undoOf } from "../../cli/run";

const d: Declared = {
    activeColor: "blue", traffic: 100, blueVersion: "v1.0.0", greenVersion: "v1.0.1",
    retainedVersions: { current: "v1.0.1", previous: "v1.0.0", archived: "v0.9.0" },
    schema: { "v1.0.1": 2, "v1.0.0": 1, "v0.9.0": 0 },
};
const STEPS = { steps: [10, 25, 50, 100] };

describe("planDeploy", () => {
    it("starts a new version on the idle colour, shifting the retained list, then moves traffic 10/25/50/100", () => {
        assert.deepEqual(planDeploy(d, "v1.1.0", STEPS), [
            { label: "start v1.1.0 on green (migrations, health gate; no traffic yet)", change: { retainedVersions: { current: "v1.1.0", previous: "v1.0.1", archived: "v1.0.0" }, schema: { "v1.1.0": 2, "v1.0.1": 2, "v1.0.0": 1 }, greenVersion: "v1.1.0" } },
            { label: "green (v1.1.0) gets 10 % of traffic", change: { activeColor: "green", traffic: 10 }, checkAfter: true },
            { label: "green (v1.1.0) gets 25 % of traffic", change: { activeColor: "green", traffic: 25 }, checkAfter: true },
            { label: "green (v1.1.0) gets 50 % of traffic", change: { activeColor: "green", traffic: 50 }, checkAfter: true },
            { label: "green (v1.1.0) gets 100 % of traffic", change: { activeColor: "green", traffic: 100 }, checkAfter: true },
        ]);
        assert.deepEqual(planDeploy(d, "v1.1.0", { steps: [100], schema: 3 })[0].change.schema, { "v1.1.0": 3, "v1.0.1": 2, "v1.0.0": 1 });
    });

    it("deploys a retained version already on the idle colour without restarting it", () => {
        assert.deepEqual(planDeploy(d, "v1.0.1", { steps: [50, 100] }).map((s) => s.label), ["green (v1.0.1) gets 50 % of traffic", "green (v1.0.1) gets 100 % of traffic"]);
    });

    it("refuses bad input with the reason", () => {
        const refuses = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof PlanError && re.test(e.message));
        refuses(() => planDeploy(d, "latest", STEPS), /"latest" is not a version like v1\.2\.3/);
        refuses(() => planDeploy(d, "v1.0.0", STEPS), /v1\.0\.0 is already live on blue; nothing to deploy/);
        refuses(() => planDeploy({ ...d, traffic: 25 }, "v1.1.0", STEPS), /a shift to blue is in progress \(25 %\)/);
        refuses(() => planDeploy(d, "v1.1.0", { steps: [50, 25, 100] }), /traffic steps must rise/);
        refuses(() => planDeploy({ ...d, blueVersion: "v0.9.0" }, "v1.1.0", STEPS), /the live colour blue runs v0\.9\.0, which a new version would push out/);
        refuses(() => planDeploy(d, "v1.0.1", { ...STEPS, schema: 5 }), /retained with schema 2/);
    });
});

describe("rollbacks", () => {
    it("immediate: all traffic to the other colour; mid-shift, back to the colour that served", () => {
        assert.deepEqual(planImmediate(d), [{ label: "all traffic back to green (v1.0.1)", change: { activeColor: "green", traffic: 100 } }]);
        assert.deepEqual(planImmediate({ ...d, activeColor: "green", traffic: 25 }), [{ label: "all traffic back to blue (v1.0.0)", change: { activeColor: "blue", traffic: 100 } }]);
        assert.throws(() => planImmediate({ ...d, greenVersion: "v1.0.0" }), /nothing to roll back to: both colours run v1\.0\.0/);
    });

    it("standard: the colour running the version gets all traffic, and the other follows when it needs a newer schema", () => {
        assert.deepEqual(planRollbackTo({ ...d, activeColor: "green" }, "v1.0.0").map((s) => s.change), [{ activeColor: "blue", traffic: 100 }, { greenVersion: "v1.0.0" }]);
        // Not running: started on the idle colour first; the other (v1.0.1, schema 2) then follows to v0.9.0 (schema 0).
        assert.deepEqual(planRollbackTo({ ...d, blueVersion: "v1.0.1", activeColor: "blue" }, "v0.9.0").map((s) => s.change), [{ greenVersion: "v0.9.0" }, { activeColor: "green", traffic: 100 }, { blueVersion: "v0.9.0" }]);
        assert.throws(() => planRollbackTo(d, "v0.1.0"), /v0\.1\.0 is not a retained version \(v1\.0\.1, v1\.0\.0, v0\.9\.0\)/);
        assert.throws(() => planRollbackTo({ ...d, greenVersion: "v1.0.0" }, "v1.0.0"), /already gets all traffic/);
    });

    it("emergency: the colour not being promoted", () => {
        assert.equal(planEmergency({ ...d, activeColor: "green", traffic: 10 }).target, "blue");
        assert.deepEqual(planEmergency(d).steps[0].change, { activeColor: "green", traffic: 100 });
    });
});

describe("planRevert", () => {
    const what = "revert to update 7";
    it("is one step when no colour with traffic changes version", () => {
        const target = { ...d, activeColor: "green" as const };
        assert.deepEqual(planRevert(d, target, what), [{ label: "revert to update 7: declare it as it was", change: { ...target, retired: null } }]);
    });

    it("goes through the idle colour when the live colour would run another version", () => {
        const now: Declared = { ...d, activeColor: "green", greenVersion: "v1.0.0" };
        const target: Declared = { ...d, activeColor: "green", greenVersion: "v1.0.1" };
        assert.deepEqual(planRevert(now, target, what), [
            { label: "revert to update 7, except green: it keeps v1.0.0 and all traffic while blue starts v1.0.0", change: { ...target, retired: null, greenVersion: "v1.0.0", activeColor: "green", traffic: 100 } },
            { label: "all traffic to blue (v1.0.0) while green changes version", change: { activeColor: "blue", traffic: 100 } },
            { label: "green to v1.0.1", change: { greenVersion: "v1.0.1" } },
            { label: "traffic as it was: green at 100 %", change: { activeColor: "green", traffic: 100 } },
        ]);
        const landing = planRevert(now, { ...target, activeColor: "blue" }, what);
        assert.equal(landing.length, 3, "the target has blue live: no step back");
    });

    it("refuses a revert that would change a colour with a share mid-shift, or drop the version that serves", () => {
        const refuses = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof PlanError && re.test(e.message));
        refuses(() => planRevert({ ...d, activeColor: "green", traffic: 50 }, { ...d, blueVersion: "v0.9.0" }, what), /runs another version on blue, which has 50 % of traffic during a shift; finish the shift or roll it back first/);
        const later: Declared = { ...d, retainedVersions: { current: "v1.2.0", previous: "v1.1.0", archived: "v1.0.1" }, blueVersion: "v1.0.1", greenVersion: "v1.1.0", schema: {} };
        const now: Declared = { ...d, retainedVersions: { current: "v1.1.0", previous: "v1.0.1", archived: "v1.0.0" }, greenVersion: "v1.1.0" };
        refuses(() => planRevert(now, later, what), /does not retain v1\.0\.0, which blue serves now/);
        refuses(() => planRevert(d, { ...d, greenVersion: "v0.8.0" }, what), /revert to update 7 runs v0\.8\.0, which this stack no longer keeps \(retained: v1\.0\.1, v1\.0\.0, v0\.9\.0\), so its image is not the one that ran/);
    });
});

describe("retire", () => {
    const retired: Declared = { ...d, retired: "green" };
    it("stops the idle colour, refused during a shift and when it is retired already", () => {
        assert.deepEqual(planRetire(d), [{ label: "retire green (v1.0.1): stop it, keep its container and image (a rollback to it starts it again)", change: { retired: "green" } }]);
        assert.throws(() => planRetire({ ...d, traffic: 90 }), (e: Error) => e instanceof PlanError && /a shift to blue is in progress \(90 %\): green still has 10 % of traffic/.test(e.message));
        assert.throws(() => planRetire(retired), /green \(v1\.0\.1\) is already retired; nothing to do/);
    });

    it("every command that gives a retired colour a share or a version starts it again in that same step", () => {
        assert.deepEqual(planImmediate(retired), [{ label: "start green again (retired: stopped), pass its health gate, then all traffic back to green (v1.0.1)", change: { activeColor: "green", traffic: 100, retired: null } }]);
        assert.deepEqual(planDeploy(retired, "v1.1.0", STEPS)[0].change.retired, null);
        assert.deepEqual(planDeploy(retired, "v1.1.0", STEPS).slice(1).map((s) => s.change.retired), [undefined, undefined, undefined, undefined]);
        // Already on the idle colour: a start step all the same (it is stopped).
        assert.deepEqual(planDeploy(retired, "v1.0.1", { steps: [100] }).map((s) => s.change), [{ greenVersion: "v1.0.1", retired: null }, { activeColor: "green", traffic: 100 }]);
        assert.deepEqual(planRollbackTo(retired, "v1.0.1").map((s) => s.change), [{ activeColor: "green", traffic: 100, retired: null }]);
        assert.deepEqual(planRollbackTo(retired, "v0.9.0").map((s) => s.change), [{ greenVersion: "v0.9.0", retired: null }, { activeColor: "green", traffic: 100 }, { blueVersion: "v0.9.0" }]);
        assert.deepEqual(planEmergency(retired).steps[0].change, { activeColor: "green", traffic: 100, retired: null });
        // The live colour is never the retired one, so nothing else changes.
        assert.deepEqual(planImmediate(d)[0].change, { activeColor: "green", traffic: 100 });
    });

    it("a restore never leaves a colour retired with a share: the colour it gives traffic starts again", () => {
        // A deploy's trigger sends traffic back to blue, which someone retired meanwhile (this run did not see it).
        const atNew: Declared = { ...d, activeColor: "green", greenVersion: "v1.1.0" };
        assert.deepEqual(undoOf(d, atNew, { activeColor: "green", traffic: 100 }), { activeColor: "blue", traffic: 100, retired: null });
        // A revert's last step (retire blue) failed: undone to the retired colour the plan began with, unless it
        // now has the traffic.
        const reverted: Declared = { ...d, activeColor: "green", retired: "blue" };
        assert.deepEqual(undoOf({ ...d, retired: "green" }, reverted, { retired: "blue" }), { retired: null });
        assert.deepEqual(undoOf({ ...d, retired: "blue" }, { ...d, activeColor: "green" }, { retired: "green" }), { retired: "blue" });
        // A failed version change keeps the retired colour as it is (nothing about it is written).
        assert.deepEqual(undoOf(retired, { ...retired, greenVersion: "v0.9.0" }, { greenVersion: "v0.9.0" }), { greenVersion: "v1.0.1" });
    });

    it("watch and retire wait for a command that moves the colours to finish (a deploy watching at 100 % has no lock)", () => {
        const at = (t: string, event: string, command: string) => ({ time: t, event, command, what: command, who: "a@b", why: "", ok: true, stack: "s" }) as never;
        const now = Date.parse("2026-12-04T10:00:00Z");
        const log = [at("2026-12-04T09:00:00Z", "command-started", "deploy v1.1.0"), at("2026-12-04T09:01:00Z", "step", "deploy v1.1.0")];
        assert.equal(unfinishedMoveOf(log, 2 * 3_600_000, now)?.command, "deploy v1.1.0");
        assert.equal(unfinishedMoveOf([...log, at("2026-12-04T09:30:00Z", "command-finished", "deploy v1.1.0")], 2 * 3_600_000, now), undefined);
        assert.equal(unfinishedMoveOf(log, 30 * 60_000, now), undefined, "begun before the horizon: crashed");
        assert.equal(unfinishedMoveOf([at("2026-12-04T09:00:00Z", "command-started", "status")], 2 * 3_600_000, now), undefined);
    });

    it("revert runs both colours while it moves them and retires the update's retired colour last", () => {
        assert.deepEqual(planRevert(retired, { ...d, retired: "green" }, "revert to update 3").map((s) => s.change), [{ ...d, retired: null }, { retired: "green" }]);
        assert.deepEqual(planRevert(retired, d, "revert to update 3").map((s) => s.change), [{ ...d, retired: null }]);
    });
});
