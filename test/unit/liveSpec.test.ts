// The container fingerprint the provider writes, the program reads back and the pack compares (issue #12).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changedFields, fingerprint, liveChangeRefusal, SPEC_LABEL } from "../../policy/liveSpec";

const spec = {
    name: "noteshub-staging-blue", image: "noteshub-staging/noteshub-api:v1.0.0", imageId: "sha256:aaa",
    env: { APP_VERSION: "1.0.0", MONGODB_URI: "mongodb://u:secret@db/noteshub" }, labels: { "io.noteshub.role": "app" },
    user: "noteshub", network: "container:abc", mounts: [{ volume: "uploads", target: "/app/uploads" }],
};

describe("fingerprint", () => {
    it("hashes each field, env and labels key by key, and leaves out what is not the container", () => {
        const f = fingerprint({
            ...spec, docker: { host: "unix:///var/run/docker.sock" }, readyTimeoutSec: 60, waitFor: "running", stopTimeoutSec: 30,
            startEnv: { PREVIOUS_VERSION: "0.9.0" }, guard: { color: "blue" }, containerId: undefined, __provider: "x",
            labels: { ...spec.labels, [SPEC_LABEL]: "{}" },
        });
        assert.deepEqual(Object.keys(f).sort(), ["env.APP_VERSION", "env.MONGODB_URI", "image", "imageId", "labels.io.noteshub.role", "mounts", "name", "network", "user"]);
        assert.ok(Object.values(f).every((h) => /^[0-9a-f]{12}$/.test(h)));
        assert.ok(!JSON.stringify(f).includes("secret"), "values are hashed, never copied");
        assert.deepEqual(fingerprint({ ...spec, env: { MONGODB_URI: spec.env.MONGODB_URI, APP_VERSION: "1.0.0" } }), fingerprint(spec), "key order is not a change");
    });

    it("names exactly the fields that differ, including ones only one side has", () => {
        const before = fingerprint(spec);
        assert.deepEqual(changedFields(before, fingerprint(spec)), []);
        assert.deepEqual(changedFields(before, fingerprint({ ...spec, imageId: "sha256:bbb", env: { ...spec.env, FOO: "1" } })), ["env.FOO", "imageId"]);
        assert.deepEqual(changedFields(before, fingerprint({ ...spec, env: { APP_VERSION: "1.0.0" } })), ["env.MONGODB_URI"]);
    });
});

describe("liveChangeRefusal", () => {
    it("names the colour, its share, the fields and the fix, exactly", () => {
        assert.equal(liveChangeRefusal({ what: "colour blue", color: "blue" }, 100, ["env.FOO"]),
            "colour blue has 100 % of traffic, and this update would replace its container (changed: env.FOO). Fix: give the new setting to a new version (pulumi config set --path 'app.envByVersion[\"<new version>\"].NAME' value) and deploy it (npm run noteshub -- deploy <new version>); or move the traffic off blue first (npm run noteshub -- rollback, or pulumi config set activeColor green and pulumi up), then change it; to accept dropped requests instead, run that one command with NOTESHUB_ALLOW_OUTAGE=1. Nothing was changed.");
        assert.match(liveChangeRefusal({ what: "colour green", color: "green" }, 25, ["imageId"]), /^colour green has 25 % of traffic, .*a retained version's image is immutable: release the new build as a new version/);
        assert.match(liveChangeRefusal({ what: "the database", color: "*" }, 100, ["image"]), /^the database serves traffic, .*maintenance window/);
        assert.match(liveChangeRefusal({ what: "colour blue", color: "blue" }, null, ["user"]), /^colour blue may have traffic \(its traffic state could not be read\)/);
    });
});
