// live-colour-untouched: fires for a container that serves users whose declared spec differs from what runs, and
// for nothing else. The real engine runs it in test/e2e/live.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { liveColourUntouched } from "../../policy/live";
import { fingerprint } from "../../policy/liveSpec";
import { violationsOf } from "./run";

const spec = { name: "noteshub-staging-blue", image: "noteshub-staging/noteshub-api:v1.0.0", imageId: "sha256:aaa", env: { APP_VERSION: "1.0.0" }, labels: { "io.noteshub.role": "app" } };
const guard = (o: Record<string, unknown> = {}) => ({ color: "blue", what: "colour blue", balancer: "noteshub-staging-lb", share: 100, running: fingerprint(spec), allowOutage: false, ...o });

describe("policy live-colour-untouched", () => {
    it("passes a serving container declared as it runs, an idle one that changes, and an accepted outage", () => {
        assert.deepEqual(violationsOf(liveColourUntouched, { ...spec, guard: guard() }), []);
        const changed = { ...spec, imageId: "sha256:bbb" };
        assert.deepEqual(violationsOf(liveColourUntouched, { ...changed, guard: guard({ share: 0 }) }), []);
        assert.deepEqual(violationsOf(liveColourUntouched, { ...changed, guard: guard({ allowOutage: true }) }), []);
        assert.deepEqual(violationsOf(liveColourUntouched, { ...changed, guard: guard({ running: null }) }), [], "nothing runs under that name yet");
        assert.deepEqual(violationsOf(liveColourUntouched, changed), [], "no guard: not a container that serves");
    });

    it("blocks a change to a container whose colour has a share, naming it, the share and the fields", () => {
        const v = violationsOf(liveColourUntouched, { ...spec, imageId: "sha256:bbb", env: { APP_VERSION: "1.0.0", FOO: "1" }, guard: guard({ share: 10 }) });
        assert.equal(v.length, 1);
        assert.match(v[0], /^container noteshub-staging-blue: colour blue has 10 % of traffic, and this update would replace its container \(changed: env\.FOO, imageId\)\. Fix: a retained version's image is immutable/);
        assert.match(violationsOf(liveColourUntouched, { ...spec, user: "other", guard: guard({ share: null }) }).join(), /may have traffic \(its traffic state could not be read\).*\(changed: user\)/);
    });

    it("blocks stopping (retiring) a running container whose colour has a share, and lets an idle one stop", () => {
        const v = violationsOf(liveColourUntouched, { ...spec, stopped: true, guard: guard({ share: 100 }) });
        assert.deepEqual(v, ["container noteshub-staging-blue: colour blue has 100 % of traffic, so stopping it (retired) would drop requests. Fix: move its traffic first (noteshub rollback, or activeColor/traffic and pulumi up), then retire it (noteshub retire)."]);
        assert.deepEqual(violationsOf(liveColourUntouched, { ...spec, stopped: true, guard: guard({ share: 0 }) }), []);
        assert.deepEqual(violationsOf(liveColourUntouched, { ...spec, stopped: true, guard: guard({ share: 100, running: null }) }), [], "stopped already");
    });
});
