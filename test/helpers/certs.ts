// Certificates for the TLS tests, made with openssl by the test (a CA of its own; nothing trusted system-wide):
// each server certificate names the hosts given, as DNS names or IP addresses.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";

export interface TestCa {
    readonly dir: string;
    /** PEM of the CA's certificate: what a client trusts. */
    readonly caPem: string;
    readonly caFile: string;
    /** A server certificate and its key (PEM) for these hosts, each new one with a new key and serial. */
    issue(hosts: string[], name?: string): { cert: string; key: string; certFile: string; keyFile: string };
    remove(): void;
}

const openssl = (dir: string, ...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

export function testCa(): TestCa {
    const dir = mkdtempSync("/var/tmp/noteshub-ca-");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=noteshub test CA", "-keyout", "ca-key.pem", "-out", "ca.pem");
    let n = 0;
    return {
        dir,
        caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
        caFile: join(dir, "ca.pem"),
        issue(hosts, name = `server-${++n}`) {
            const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
            writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
            openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${hosts[0]}`, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`);
            openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`);
            const certFile = join(dir, `${name}.pem`), keyFile = join(dir, `${name}-key.pem`);
            return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, keyFile };
        },
        remove: () => rmSync(dir, { recursive: true, force: true }),
    };
}
