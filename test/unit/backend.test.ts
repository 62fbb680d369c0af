// Where noteshub keeps a stack's lock and log (issue #14): beside the state the backend URL names, and what this
// clone takes from the stack's last update when the state is shared.
import assert from "node:assert/strict";
import { homedir } from "node:os";
import { describe, it } from "node:test";
import { BackendError, parseBackend } from "../../cli/backend";
import { behind, releasedDigests } from "../../cli/sync";
import { PlanError } from "../../cli/plan";

describe("parseBackend", () => {
    it("file backends: a directory, ~ expanded; none set is the default state directory", () => {
        assert.deepEqual(parseBackend("file:///var/state"), { kind: "file", dir: "/var/state" });
        assert.deepEqual(parseBackend("file://~/state"), { kind: "file", dir: `${homedir()}/state` });
        assert.equal(parseBackend(undefined).kind, "file");
    });

    it("S3 as Pulumi's DIY backend takes it: bucket, prefix, region, endpoint, TLS, path style", () => {
        const url = "s3://team-state/noteshub?endpoint=127.0.0.1:9000&disableSSL=true&s3ForcePathStyle=true&region=us-east-1";
        assert.deepEqual(parseBackend(url), { kind: "s3", bucket: "team-state", prefix: "noteshub/", endpoint: "http://127.0.0.1:9000", region: "us-east-1", pathStyle: true, url });
        assert.deepEqual(parseBackend("s3://b?region=eu-west-1"), { kind: "s3", bucket: "b", prefix: "", endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", pathStyle: false, url: "s3://b?region=eu-west-1" });
        assert.equal((parseBackend("s3://b?region=x&endpoint=minio.internal:9000") as { endpoint: string }).endpoint, "https://minio.internal:9000");
    });

    it("refuses what it cannot keep a lock beside, saying what works", () => {
        const region = process.env.AWS_REGION;
        const fallback = process.env.AWS_DEFAULT_REGION;
        delete process.env.AWS_REGION;
        delete process.env.AWS_DEFAULT_REGION;
        try {
            assert.throws(() => parseBackend("s3://b"), (e: Error) => e instanceof BackendError && e.message === "PULUMI_BACKEND_URL s3://b names no region. Fix: add ?region=<region> (or set AWS_REGION)");
        } finally {
            if (region !== undefined) process.env.AWS_REGION = region;
            if (fallback !== undefined) process.env.AWS_DEFAULT_REGION = fallback;
        }
        assert.throws(() => parseBackend("https://api.pulumi.com"), /is not a backend noteshub can keep its lock and deployment log beside\. Fix: file:\/\/<dir> \(one machine\) or s3:\/\/<bucket>\?region=/);
        assert.throws(() => parseBackend("gs://user:secret@bucket"), (e: Error) => !e.message.includes("secret"));
    });
});

describe("behind (a clone's declared keys against the last update)", () => {
    const v = (x: unknown) => ({ value: typeof x === "string" ? x : JSON.stringify(x) });
    const o = (x: object) => ({ value: JSON.stringify(x), objectValue: x });
    const here = {
        "noteshub:activeColor": v("blue"),
        "noteshub:blueVersion": v("v1.0.0"),
        "noteshub:greenVersion": v("v1.0.1"),
        "noteshub:retainedVersions": v({ current: "v1.0.1", previous: "v1.0.0" }),
        "noteshub:app": v({ repository: "r", digests: { "v1.0.0": "sha256:aa" } }),
        "noteshub:loadBalancer": v({ port: 1 }),
    };

    it("nothing when they match (key order and number-as-string aside)", () => {
        const deployed = { ...here, "noteshub:retainedVersions": o({ previous: "v1.0.0", current: "v1.0.1" }), "noteshub:loadBalancer": v({ port: 2 }) };
        assert.deepEqual(behind(here, deployed), { keys: [], digests: {} });
        assert.deepEqual(behind({ ...here, "noteshub:traffic": v("100") }, { ...here, "noteshub:traffic": { value: "100" } }), { keys: [], digests: {} });
    });

    it("maintenance mode another clone turned on or off is a declared key too", () => {
        const on = { ...here, "noteshub:maintenance": v({ message: "Back at 03:30", retryAfterSec: 300 }) };
        assert.deepEqual(behind(here, on).keys, [{ key: "maintenance", here: undefined, deployed: { message: "Back at 03:30", retryAfterSec: 300 } }]);
        assert.deepEqual(behind(on, here).keys, [{ key: "maintenance", here: { message: "Back at 03:30", retryAfterSec: 300 }, deployed: undefined }]);
        assert.deepEqual(behind(on, { ...here, "noteshub:maintenance": o({ retryAfterSec: 300, message: "Back at 03:30" }) }).keys, []);
    });

    it("the declared keys another clone changed, a key it set or removed, and the digests it released", () => {
        const deployed = {
            ...here,
            "noteshub:activeColor": v("green"),
            "noteshub:greenVersion": v("v1.1.0"),
            "noteshub:traffic": v("25"),
            "noteshub:app": o({ repository: "r", digests: { "v1.0.0": "sha256:aa", "v1.1.0": "sha256:bb" } }),
        };
        assert.deepEqual(behind(here, deployed), {
            keys: [
                { key: "activeColor", here: "blue", deployed: "green" },
                { key: "traffic", here: undefined, deployed: 25 },
                { key: "greenVersion", here: "v1.0.1", deployed: "v1.1.0" },
            ],
            digests: { "v1.1.0": "sha256:bb" },
        });
        // A version released here and not deployed yet is kept (not a difference).
        const local = { ...here, "noteshub:app": v({ repository: "r", digests: { "v1.0.0": "sha256:aa", "v1.2.0": "sha256:cc" } }) };
        assert.deepEqual(behind(local, here).digests, {});
    });

    it("takes the digests the shared log says were released, before anyone deploys them", () => {
        const entry = (command: string, figures: Record<string, unknown>, ok = true) => ({ time: "t", stack: "s", who: "w", command, event: "command-finished" as const, what: "", why: "", ok, figures });
        const log = [
            entry("release v1.2.0", { version: "v1.2.0", digest: "sha256:cc" }),
            entry("release v1.3.0", { version: "v1.3.0", digest: "sha256:dd" }, false),
            entry("deploy v1.2.0", { version: "v1.2.0", digest: "sha256:ee" }),
        ];
        assert.deepEqual(releasedDigests(log), { "v1.2.0": "sha256:cc" });
        assert.deepEqual(behind(here, here, releasedDigests(log)).digests, { "v1.2.0": "sha256:cc" });
        assert.throws(() => behind(here, here, { "v1.0.0": "sha256:ab" }), (e: Error) => e instanceof PlanError && /the stack's last update ran sha256:aa, but the deployment log says v1\.0\.0 was released as sha256:ab/.test(e.message));
    });

    it("refuses two builds released as one version", () => {
        const deployed = { ...here, "noteshub:app": o({ repository: "r", digests: { "v1.0.0": "sha256:ff" } }) };
        assert.throws(() => behind(here, deployed), (e: Error) => e instanceof PlanError && e.message.startsWith(`app.digests["v1.0.0"] is sha256:aa here, but the stack's last update ran it as sha256:ff: two builds were released as v1.0.0.`));
    });
});
