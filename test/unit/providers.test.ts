// The pure parts of the providers: diffs, engine connection options, error wording.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { otherImage } from "../../infra/providers/dockerImage";
import { dockerodeOptions, engineError } from "../../infra/docker/engine";
import { changedInputs, diffInputs, stableJson } from "../../infra/providers/diff";

const local = { host: "unix:///var/run/docker.sock" };

describe("diffInputs", () => {
    it("compares every input, ignoring key order, outputs and the serialized provider", () => {
        const olds = { __provider: "old code", a: { x: 1, y: 2 }, b: "same", containerId: "123" };
        const news = { __provider: "new code", a: { y: 2, x: 1 }, b: "same" };
        assert.deepEqual(changedInputs(olds, news, ["containerId"]), []);
        assert.deepEqual(diffInputs(olds, news, { outputs: ["containerId"] }), { changes: false, replaces: [], deleteBeforeReplace: false });
    });

    it("replaces on any change not declared in place, removed inputs included", () => {
        const d = diffInputs({ image: "a:1", env: { A: "1" }, readyTimeoutSec: 60 }, { image: "a:2", readyTimeoutSec: 30 }, { outputs: [], inPlace: ["readyTimeoutSec"], deleteBeforeReplace: true });
        assert.deepEqual(d, { changes: true, replaces: ["env", "image"], deleteBeforeReplace: true });
    });

    it("updates in place when only in-place inputs change", () => {
        assert.deepEqual(diffInputs({ content: "a" }, { content: "b" }, { outputs: [], inPlace: ["content"], deleteBeforeReplace: true }), {
            changes: true, replaces: [], deleteBeforeReplace: false,
        });
    });

    it("stableJson sorts nested keys", () => {
        assert.equal(stableJson({ b: 1, a: { d: 1, c: [2, 1] } }), '{"a":{"c":[2,1],"d":1},"b":1}');
    });
});

describe("dockerodeOptions", () => {
    it("maps each host scheme", () => {
        assert.deepEqual(dockerodeOptions(local), { socketPath: "/var/run/docker.sock" });
        assert.deepEqual(dockerodeOptions({ host: "tcp://10.1.2.3:2375" }), { protocol: "http", host: "10.1.2.3", port: 2375 });
        // ssh:// is HTTP over dial-stdio channels of one shared, host-key-checked ssh connection (sshTunnel.ts).
        const ssh = dockerodeOptions({ host: "ssh://deploy@prod.example:2222" }) as Record<string, unknown>;
        assert.equal(ssh.protocol, "http");
        assert.equal(ssh.host, "prod.example");
        assert.equal(ssh.port, 2222);
        assert.equal(typeof (ssh.agent as { createConnection?: unknown }).createConnection, "function");
    });

    it("names the missing TLS file", () => {
        assert.throws(() => dockerodeOptions({ host: "tcp://h:2376", tlsCertDir: "/nonexistent/certs" }), /ca\.pem/);
    });
});

describe("engineError", () => {
    it("tells a user the engine is down and how to start it", () => {
        const err = Object.assign(new Error("connect ENOENT /var/run/docker.sock"), { code: "ENOENT" });
        assert.equal(engineError("create", "container noteshub-staging-blue", local, err).message,
            "docker: create container noteshub-staging-blue: connect ENOENT /var/run/docker.sock\n" +
            "  -> the Docker engine at unix:///var/run/docker.sock is not reachable (ENOENT); start it (scripts/setup.sh starts a local one) or set noteshub:docker.host");
    });

    it("names the taken port", () => {
        const err = Object.assign(new Error("HTTP 500"), { statusCode: 500, json: { message: "driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:8080 failed: port is already allocated" } });
        assert.match(engineError("start", "container noteshub-staging-lb", local, err).message,
            /-> host port 8080 is already in use; stop what holds it \(e\.g\. `ss -ltnp \| grep 8080`\) or choose another port in stack config$/);
    });
});

describe("otherImage (a pinned image's identity)", () => {
    const D1 = `sha256:${"1".repeat(64)}`;
    const D2 = `sha256:${"2".repeat(64)}`;
    const pulled = { name: "noteshub-p/noteshub-api:v1.0.0", source: "reg:5000/n/noteshub-api:v1.0.0", repoDigest: `reg:5000/n/noteshub-api@${D1}` };
    it("a digest recorded later for the bytes it pulled is the same image; another digest is another", () => {
        assert.equal(otherImage(pulled, { name: pulled.name, source: `reg:5000/n/noteshub-api:v1.0.0@${D1}` }), undefined);
        assert.equal(otherImage(pulled, { name: pulled.name, source: `other-reg/n/noteshub-api:v1.0.0@${D1}` }), undefined, "a moved registry keeps the digest");
        assert.equal(otherImage(pulled, { name: pulled.name, source: `reg:5000/n/noteshub-api:v1.0.0@${D2}` }), "source");
        assert.equal(otherImage(pulled, { name: pulled.name, source: "reg:5000/n/noteshub-api:v1.0.1" }), "source");
        assert.equal(otherImage({ ...pulled, source: "mongo:7.0", repoDigest: `mongo@${D1}` }, { name: pulled.name, source: `mongo:7.0@${D1}` }), undefined);
    });
});
