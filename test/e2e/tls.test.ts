// HTTPS at the balancer (issue #14), through the real pulumi CLI, Docker and nginx: the balancer serves the
// certificate it is given (a test CA's), answers plain HTTP with a redirect to HTTPS, sends HSTS; a new certificate
// goes live under an outside load without a failed request; a key stored as a secret never reaches the state in
// the clear; a key that is not the certificate's is refused before anything changes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { testCa, type TestCa } from "../helpers/certs";
import { heyDuring } from "../helpers/load";
import { freePort, pulumiFailure, ROOT, startTestStack, type TestStack } from "../helpers/stack";

const STACK = "e2e-tls";

/** A GET over HTTPS trusting only the test CA, on a fresh connection. */
function httpsGet(url: string, ca: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
        const req = request(url, { ca, agent: false }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end();
    });
}

/** The serial number of the certificate the balancer presents. */
function servedSerial(port: number, ca: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port, ca }, () => {
            resolve(s.getPeerCertificate().serialNumber);
            s.end();
        });
        s.on("error", reject);
    });
}

describe("HTTPS at the balancer (real pulumi, Docker, nginx)", { timeout: 15 * 60_000 }, () => {
    let ca: TestCa;
    let stack: TestStack;
    let tlsPort = 0;
    let httpUrl = "";
    let url = "";
    let first: ReturnType<TestCa["issue"]>;
    let next: ReturnType<TestCa["issue"]>;
    const serial = (pem: string) => new X509Certificate(pem).serialNumber;
    /** `pulumi config set` with the value on stdin, as the README tells users to give a PEM file. */
    const setFromStdin = (path: string, pem: string, secret = false) => {
        const r = spawnSync("pulumi", ["config", "set", ...(secret ? ["--secret"] : []), "--path", path, "--stack", STACK, "--non-interactive"], { cwd: ROOT, env: stack.env, input: pem, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
    };

    before(async () => {
        ca = testCa();
        first = ca.issue(["127.0.0.1"]);
        tlsPort = await freePort();
        const port = await freePort();
        ({ stack } = await startTestStack(STACK, { loadBalancer: { port, tls: { certificateFile: first.certFile, keyFile: first.keyFile, port: tlsPort } } }));
        httpUrl = `http://127.0.0.1:${port}`;
        url = stack.outputs().url;
    });
    after(() => {
        stack?.dispose();
        ca?.remove();
    });

    it("the url names HTTPS; users get the given certificate, HSTS, and the app behind it", async () => {
        assert.equal(url, `https://127.0.0.1:${tlsPort}`);
        const r = await httpsGet(`${url}/health`, ca.caPem);
        assert.equal(r.status, 200, r.body);
        assert.equal(JSON.parse(r.body).version, "v1.0.0");
        assert.equal(r.headers["strict-transport-security"], "max-age=31536000");
        assert.equal(r.headers["x-noteshub-color"], "blue");
        assert.equal(await servedSerial(tlsPort, ca.caPem), serial(first.cert));
    });

    it("noteshub status reaches the balancer over HTTPS, trusting the private CA the operator names", async () => {
        const r = await stack.noteshubWith({ NODE_EXTRA_CA_CERTS: ca.caFile }, ROOT, "status").done;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.json.url, url);
        assert.deepEqual([r.json.balancer.weights, r.json.balancerMatchesDeclared], [{ blue: 100, green: 0 }, true]);
    });

    it("plain HTTP is redirected to HTTPS with its method and path kept (308), and its connection closed", async () => {
        const r = await fetch(`${httpUrl}/api/notes?q=1`, { method: "POST", redirect: "manual", body: "{}", headers: { "content-type": "application/json" } });
        assert.equal(r.status, 308);
        assert.equal(r.headers.get("location"), `https://127.0.0.1:${tlsPort}/api/notes?q=1`);
        assert.equal(r.headers.get("connection"), "close");
    });

    it("a new certificate, now a secret in config, goes live with 0 failed requests; the key is never in state in the clear", async () => {
        next = ca.issue(["127.0.0.1"]);
        stack.must("config", "rm", "--path", "loadBalancer.tls.certificateFile");
        stack.must("config", "rm", "--path", "loadBalancer.tls.keyFile");
        setFromStdin("loadBalancer.tls.certificate", next.cert);
        setFromStdin("loadBalancer.tls.key", next.key, true);
        await heyDuring(`${url}/api/notes`, "certificate change under load (https)", async () => {
            const r = stack.up();
            assert.equal(r.code, 0, pulumiFailure("pulumi up with a new certificate", r));
        });
        assert.equal(await servedSerial(tlsPort, ca.caPem), serial(next.cert), "the new certificate is served");
        const keyBody = next.key.split("\n")[1];
        assert.ok(!stack.must("stack", "export").stdout.includes(keyBody), "the state holds the key only encrypted");
        assert.ok(!readFileSync(stack.configFile, "utf8").includes(keyBody), "the stack file holds the key only encrypted");
    });

    it("a key that is not the certificate's is refused before anything changes", async () => {
        const before = await servedSerial(tlsPort, ca.caPem);
        setFromStdin("loadBalancer.tls.certificate", ca.issue(["127.0.0.1"]).cert);
        const r = stack.up();
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /noteshub:loadBalancer\.tls\.key: is not the key of the certificate \(CN=127\.0\.0\.1, serial [0-9A-F]+\); fix: the key the certificate was issued for/);
        assert.match(r.stdout + r.stderr, /nothing was changed/);
        assert.equal(await servedSerial(tlsPort, ca.caPem), before);
        setFromStdin("loadBalancer.tls.certificate", next.cert); // declared back to what runs
    });
});
