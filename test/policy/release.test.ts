// three-retained-versions and traffic-steps, on the Release resource the program declares.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { threeRetainedVersions, trafficSteps } from "../../policy/release";
import { violationsOf } from "./run";

const release = (o: Record<string, unknown> = {}) => ({
    kind: "Release", stack: "staging", activeColor: "blue", traffic: 100,
    versions: { blue: "v1.0.0", green: "v1.0.1" },
    retainedVersions: { current: "v1.0.1", previous: "v1.0.0", archived: "v0.9.0" },
    ...o,
});

describe("policy three-retained-versions", () => {
    it("passes three unique semver versions holding both colours", () => {
        assert.deepEqual(violationsOf(threeRetainedVersions, release()), []);
        assert.deepEqual(violationsOf(threeRetainedVersions, release({ retainedVersions: { current: "v2.0.0-rc.1", previous: "v1.0.1", archived: "v1.0.0" } })), []);
    });

    it("blocks a missing slot, a duplicate, a non-semver and a colour outside the three", () => {
        const v = violationsOf(threeRetainedVersions, release({ retainedVersions: { current: "v1.0.1", previous: "v1.0.1" } }));
        assert.match(v.join("\n"), /must hold exactly three versions \(current, previous, archived\); missing archived/);
        assert.match(v.join("\n"), /lists v1\.0\.1 more than once/);
        assert.match(v.join("\n"), /the blue colour runs v1\.0\.0, which is not one of the retained versions \(v1\.0\.1, v1\.0\.1\)/);
        const bad = violationsOf(threeRetainedVersions, release({ retainedVersions: { current: "latest", previous: "v1.0.0", archived: "v0.9.0" }, versions: { blue: "v1.0.0", green: "v0.9.0" } }));
        assert.deepEqual(bad, ['noteshub:retainedVersions.current is "latest", not a semantic version like v1.2.3. Fix: pulumi config set --path retainedVersions.<current|previous|archived> vX.Y.Z.']);
    });

    it("ignores resources that are not the release", () => {
        assert.deepEqual(violationsOf(threeRetainedVersions, { kind: "TrafficState", retainedVersions: {} }), []);
    });
});

describe("policy traffic-steps (advisory)", () => {
    it("is advisory", () => assert.equal(trafficSteps.enforcementLevel, "advisory"));

    it("accepts the runbook's steps and flags any other share", () => {
        for (const t of [0, 10, 25, 50, 100]) assert.deepEqual(violationsOf(trafficSteps, release({ traffic: t }), {}), [], `${t}`);
        assert.deepEqual(violationsOf(trafficSteps, release({ traffic: 30 }), {}), [
            'noteshub:traffic is 30 %: the blue colour being promoted should get one of the steps 0/10/25/50/100 % (runbook "Gradual Traffic Shift"). Fix: pulumi config set traffic <step>.',
        ]);
    });

    it("takes its steps from the pack's config", () => {
        assert.equal(violationsOf(trafficSteps, release({ traffic: 25 }), { steps: [0, 100] }).length, 1);
        assert.deepEqual(violationsOf(trafficSteps, release({ traffic: 30 }), { steps: [0, 30, 100] }), []);
    });
});
