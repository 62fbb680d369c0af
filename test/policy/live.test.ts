// live-colour-untouched: fires for a container that serves users whose declared spec differs from what runs, and
// for nothing else; serving-containers-kept: for one whose resource the update no longer declares. The real engine
// runs both in test/e2e/live.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { liveColourUntouched, servingContainersKept } from "../../policy/live";
import { fingerprint } from "../../policy/liveSpec";
import { resource, stackViolationsOf, violationsOf } from "./run";

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

describe("policy serving-containers-kept", () => {
    const URN = "urn:pulumi:staging::noteshub::noteshub:app:Color$pulumi-nodejs:dynamic/docker:Container::blue-container";
    const serving = [{ container: "noteshub-staging-blue", color: "blue", what: "colour blue", urn: URN, resource: "blue-container" }];
    const traffic = (blue: number) => resource({ kind: "TrafficState", weights: { blue, green: 100 - blue } }, { name: "lb-traffic" });
    const guardOf = (s: unknown) => [resource({ kind: "DestroyGuard", serving: s }, { name: "destroy-guard" }), traffic(100)];
    const blue = (o: Record<string, unknown> = {}, urn = URN) => resource({ ...spec, resourceName: "blue-container", ...o }, { urn, name: "blue-container" });

    it("passes while the resource that made each serving container still declares it, and with nothing serving", () => {
        assert.deepEqual(stackViolationsOf(servingContainersKept, [...guardOf(serving), blue()]), []);
        assert.deepEqual(stackViolationsOf(servingContainersKept, [...guardOf([]), blue({}, "urn:x::other")]), []);
        assert.deepEqual(stackViolationsOf(servingContainersKept, [blue()]), [], "no destroy guard: nothing read");
        // The pack throws on reading a value not known at preview (and the policy turns advisory): a new balancer
        // instance's name is one, and is never read.
        const unknownName = resource(Object.defineProperty({ image: "b", resourceName: "lb-nginx" }, "name", { get: () => { throw new Error("unknown at preview"); }, enumerable: true }));
        assert.deepEqual(stackViolationsOf(servingContainersKept, [...guardOf(serving), unknownName, blue()]), []);
        assert.deepEqual(stackViolationsOf(servingContainersKept, [...guardOf([{ ...serving[0], urn: "" }]), unknownName, blue()]), []);
        // Made before URNs were recorded: the resource's name and the container's name identify it.
        assert.deepEqual(stackViolationsOf(servingContainersKept, [...guardOf([{ ...serving[0], urn: "" }]), blue({}, "urn:moved::blue-container")]), []);
    });

    it("blocks an update that no longer declares a serving container's resource (renamed, moved, dropped), naming it and the fix", () => {
        const moved = stackViolationsOf(servingContainersKept, [...guardOf(serving), blue({}, URN.replace("::blue-container", "::blue-moved-container"))]);
        assert.equal(moved.length, 1);
        assert.match(moved[0], /^container noteshub-staging-blue: colour blue has 100 % of traffic, and this update would delete it \(no resource declares urn:pulumi:staging::noteshub::noteshub:app:Color\$pulumi-nodejs:dynamic\/docker:Container::blue-container any more\)\. Fix: move its traffic first .*alias .*NOTESHUB_ALLOW_OUTAGE=1\. Nothing was changed\.$/);
        assert.equal(stackViolationsOf(servingContainersKept, guardOf(serving)).length, 1, "dropped");
        const legacy = stackViolationsOf(servingContainersKept, [...guardOf([{ ...serving[0], urn: "" }]), blue({ resourceName: "blue-app" })]);
        assert.match(legacy.join(), /would delete it \(no resource declares blue-container any more\)/);
    });

    it("lets a container go whose colour has no share once this update ran (deletes run last), and judges none without a traffic state", () => {
        const moved = blue({}, URN.replace("::blue-container", "::blue-moved-container"));
        const [destroyGuard] = guardOf(serving);
        assert.deepEqual(stackViolationsOf(servingContainersKept, [destroyGuard, traffic(0), moved]), []);
        assert.match(stackViolationsOf(servingContainersKept, [destroyGuard, traffic(10), moved]).join(), /colour blue has 10 % of traffic, and this update would delete it/);
        assert.match(stackViolationsOf(servingContainersKept, [destroyGuard, moved]).join(), /colour blue may have traffic \(its traffic state could not be read\), and this update would delete it/);
        const db = { container: "noteshub-staging-db", color: "*", what: "the database", urn: "urn:db", resource: "database-container" };
        assert.match(stackViolationsOf(servingContainersKept, [resource({ kind: "DestroyGuard", serving: [db] }), traffic(0)]).join(), /^container noteshub-staging-db: the database serves traffic, and this update would delete it/);
    });

    it("blocks one that keeps the resource but gives it another Docker name (a new container, the old one removed first)", () => {
        const v = stackViolationsOf(servingContainersKept, [...guardOf(serving), blue({ name: "noteshub-staging-blue2" })]);
        assert.match(v.join(), /^container noteshub-staging-blue: colour blue has 100 % of traffic, and this update would replace it with noteshub-staging-blue2 /);
    });
});
