// The ssh host key check against known_hosts (issue #14): pure, so every form of line and every refusal is tested
// exactly; test/e2e/remote.test.ts checks the same against a real sshd.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { fingerprintOf, hostKeyAlgorithms, hostKeyRefusal, knownHostName, verifyHostKey } from "../../infra/docker/knownHosts";

const KEY = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIG9c3rWbB0jM4f5JQ2m7S1n6A8e1rBq0YkYqk7bq2x1c", "base64");
const OTHER = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIOq2mBQVDzmWKeyG5C9oXcY0pT2wJ4kLnTq5a8P1f6fv", "base64");
const line = (hosts: string, key = KEY) => `${hosts} ssh-ed25519 ${key.toString("base64")}`;
const hashed = (name: string) => {
    const salt = Buffer.from("0123456789abcdefghij");
    return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
};

describe("known_hosts", () => {
    it("names a host as OpenSSH does: bare on port 22, [host]:port otherwise", () => {
        assert.equal(knownHostName("10.0.0.5", 22), "10.0.0.5");
        assert.equal(knownHostName("prod-1", 2222), "[prod-1]:2222");
    });

    it("accepts the host's key in plain, listed, hashed, wildcard and bracketed lines", () => {
        for (const [text, name] of [
            [line("10.0.0.5"), "10.0.0.5"],
            [`# a comment\n\n${line("prod-1,10.0.0.5")}`, "10.0.0.5"],
            [line(hashed("prod-1")), "prod-1"],
            [line("*.noteshub.test"), "db.noteshub.test"],
            [line("[prod-1]:2222"), "[prod-1]:2222"],
        ]) assert.equal(verifyHostKey(text, name, KEY).ok, true, `${text} for ${name}`);
    });

    it("another port, a negated pattern, a cert-authority line or an unknown marker is not the host's key", () => {
        assert.equal(verifyHostKey(line("prod-1"), "[prod-1]:2222", KEY).problem, "unknown");
        assert.equal(verifyHostKey(line("*.test,!db.test"), "db.test", KEY).problem, "unknown");
        assert.equal(verifyHostKey(`@cert-authority ${line("prod-1")}`, "prod-1", KEY).problem, "unknown");
        // A typo of @revoked is skipped, as OpenSSH does: never a trusted line.
        for (const m of ["@revoke", "@Revoked"]) assert.equal(verifyHostKey(`${m} ${line("prod-1")}`, "prod-1", KEY).ok, false, m);
    });

    it("names hosts in lower case, IPv6 without brackets; asks the host for the key types known_hosts holds", () => {
        assert.equal(knownHostName("Prod-1.ACME.internal", 22), "prod-1.acme.internal");
        assert.equal(knownHostName("[2001:db8::1]", 22), "2001:db8::1");
        assert.equal(knownHostName("2001:db8::1", 2222), "[2001:db8::1]:2222");
        assert.equal(verifyHostKey(line(hashed("prod-1.acme.internal")), knownHostName("Prod-1.acme.internal", 22), KEY).ok, true);
        const ecdsa = "prod-1 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEx";
        assert.deepEqual(hostKeyAlgorithms(`${ecdsa}\n${line("prod-1")}\n${line("other", OTHER)}\nprod-1 ssh-rsa AAAAB3Nza`, "prod-1"),
            ["ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
        assert.deepEqual(hostKeyAlgorithms(line("other"), "prod-1"), []);
        // Only an ecdsa line for the host: its ed25519 key is unknown (not "changed": that would advise deleting a good line).
        const v = verifyHostKey(ecdsa, "prod-1", KEY);
        assert.deepEqual([v.problem, v.lines], ["unknown", [1]]);
    });

    it("a host listed with other keys is changed, naming the lines; a revoked key is refused even beside a good line", () => {
        const v = verifyHostKey(`${line("a")}\n${line("prod-1", OTHER)}\n${line("prod-1", OTHER)}`, "prod-1", KEY);
        assert.deepEqual(v, { ok: false, problem: "changed", fingerprint: fingerprintOf(KEY), lines: [2, 3] });
        assert.equal(verifyHostKey(`${line("prod-1")}\n@revoked ${line("*")}`, "prod-1", KEY).problem, "revoked");
    });

    it("fingerprints as ssh-keygen -lf", () => {
        assert.match(fingerprintOf(KEY), /^SHA256:[A-Za-z0-9+/]{43}$/);
    });

    it("says what happened and what to do, exactly", () => {
        const fp = fingerprintOf(KEY);
        assert.equal(hostKeyRefusal(verifyHostKey("", "[prod-1]:2222", KEY), "[prod-1]:2222", "/home/op/.ssh/known_hosts"),
            `the ssh host key of [prod-1]:2222 is unknown: it offers ${fp} and /home/op/.ssh/known_hosts has no line for it, so nothing was sent to it. ` +
            "Compare that fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it), then add it: ssh-keyscan -p 2222 prod-1 >> /home/op/.ssh/known_hosts " +
            "(or set noteshub:docker.knownHosts to the file that has it).");
        assert.equal(hostKeyRefusal(verifyHostKey(line("prod-1", OTHER), "prod-1", KEY), "prod-1", "kh"),
            `the ssh host key of prod-1 CHANGED: it offers ${fp}, which is not the key kh holds for it (line 1). Someone may be in the middle, or the host was rebuilt: nothing was sent to it. ` +
            "Check the host's key out of band (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it); if the change is expected, remove the old line (ssh-keygen -R 'prod-1' -f kh) and add the new key.");
        assert.equal(hostKeyRefusal(verifyHostKey(`@revoked ${line("prod-1")}`, "prod-1", KEY), "prod-1", "kh"),
            `the ssh host key of prod-1 (${fp}) is marked @revoked in kh: nothing was sent to it. Find out why the host offers a revoked key before you go on.`);
    });
});
