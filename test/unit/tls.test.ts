// The balancer's certificate and key are checked before anything changes (infra/tls.ts), against certificates
// openssl makes here; and the config rules around loadBalancer.tls.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { ConfigError, parseConfig } from "../../infra/config";
import { tlsMaterial } from "../../infra/tls";
import { testCa } from "../helpers/certs";
import { rawConfig } from "../helpers/config";

const ca = testCa();
after(() => ca.remove());
const now = new Date(Date.now() - 1000);
const facts = (host = "notes.test") => ({ readFile: (f: string) => readFileSync(f, "utf8"), now: new Date(), host });
const settings = (t: Record<string, unknown>) => ({ port: 8443, hstsMaxAgeSec: 31536000, ...t });

describe("tlsMaterial", () => {
    const good = ca.issue(["notes.test", "192.0.2.7"]);

    it("takes a certificate and its key, as config or files, and names them by a fingerprint", () => {
        const a = tlsMaterial(settings({ certificate: good.cert, key: good.key }), facts());
        const b = tlsMaterial(settings({ certificateFile: good.certFile, keyFile: good.keyFile }), facts("192.0.2.7"));
        assert.deepEqual([a.problems, b.problems], [[], []]);
        assert.equal(a.material!.fingerprint, b.material!.fingerprint);
        assert.match(a.material!.fingerprint, /^[0-9a-f]{64}$/);
        assert.ok(new Date(a.material!.expires) > now);
        const other = ca.issue(["notes.test"]);
        assert.notEqual(tlsMaterial(settings({ certificate: other.cert, key: other.key }), facts()).material!.fingerprint, a.material!.fingerprint, "a new certificate, a new name");
    });

    it("refuses a key that is not the certificate's", () => {
        const other = ca.issue(["notes.test"]);
        const r = tlsMaterial(settings({ certificate: good.cert, key: other.key }), facts());
        assert.equal(r.material, undefined);
        assert.match(r.problems.join("\n"), /^noteshub:loadBalancer\.tls\.key: is not the key of the certificate \(CN=notes\.test, serial [0-9A-F]+\); fix: the key the certificate was issued for$/);
    });

    it("refuses an expired certificate, and one that does not name the host users reach", () => {
        const later = new Date(now.getTime() + 3 * 86_400_000);
        assert.match(tlsMaterial(settings({ certificate: good.cert, key: good.key }), { ...facts(), now: later }).problems.join("\n"), /^noteshub:loadBalancer\.tls\.certificate: expired on \d{4}-.*; fix: renew it, then pulumi up/);
        assert.match(tlsMaterial(settings({ certificate: good.cert, key: good.key }), facts("notes.example.org")).problems.join("\n"),
            /^noteshub:loadBalancer\.tls\.certificate: does not name notes\.example\.org, the host users reach \(it names DNS:notes\.test, IP Address:192\.0\.2\.7\); fix: a certificate for notes\.example\.org, or pulumi config set --path 'loadBalancer\.hostname'/);
    });

    it("refuses what is not PEM, and a file it can't read, saying which", () => {
        const r = tlsMaterial(settings({ certificate: "hello", keyFile: "/nonexistent/key.pem" }), facts());
        assert.deepEqual(r.problems, [
            "noteshub:loadBalancer.tls.keyFile: can't read /nonexistent/key.pem (ENOENT); fix: the path of the PEM file on the machine that runs pulumi",
            "noteshub:loadBalancer.tls.certificate: is not a PEM certificate (-----BEGIN CERTIFICATE-----); fix: the server certificate first, then its intermediates",
        ]);
    });
});

describe("loadBalancer.tls config", () => {
    const problems = (tls: Record<string, unknown>) => {
        try {
            parseConfig(rawConfig({ loadBalancer: { port: 8080, tls } }), "staging");
            return [];
        } catch (err) {
            return (err as ConfigError).problems;
        }
    };

    it("needs one of certificate/certificateFile and one of key/keyFile", () => {
        assert.deepEqual(problems({ certificate: "x", certificateFile: "/c" }), [
            "noteshub:loadBalancer.tls.certificate: give certificate or certificateFile, not both; fix: pulumi config set --path 'loadBalancer.tls.certificate' < cert.pem, or pulumi config set --path 'loadBalancer.tls.certificateFile' /path/to/cert.pem",
            "noteshub:loadBalancer.tls.key: required; fix: pulumi config set --secret --path 'loadBalancer.tls.key' < key.pem, or pulumi config set --path 'loadBalancer.tls.keyFile' /path/to/key.pem",
        ]);
        assert.deepEqual(problems({ certificateFile: "/c", keyFile: "/k" }), []);
    });

    it("a TLS port that is the plain one is refused", () => {
        assert.deepEqual(problems({ certificateFile: "/c", keyFile: "/k", port: 8080 }), [
            "noteshub:loadBalancer.tls.port: 8080 is also loadBalancer.port (which answers plain HTTP with a redirect); fix: pulumi config set --path 'loadBalancer.tls.port' 443",
        ]);
    });
});
