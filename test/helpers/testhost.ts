// Test hosts for the remote-engine suites (issue #14): a network namespace with its own Docker engine, sshd and TLS
// endpoint (testhost.sh). A suite starts its hosts in before() and stops them in after(); `testhost.sh down-all`
// removes what a crashed run left.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPT = join(__dirname, "testhost.sh");

export interface TestHost {
    readonly name: string;
    readonly n: number;
    /** Its address on the test bridge: what the stack's docker.host and users' requests use. */
    readonly addr: string;
    readonly dir: string;
    /** Its engine's unix socket, for the test's own checks (the program reaches it over ssh:// or tcp://). */
    readonly socket: string;
    readonly tlsClientDir: string;
    readonly sshUser: string;
    readonly sshKey: string;
    /** Its ssh host key, `<type> <base64> <comment>`. */
    readonly sshHostKey: string;
}

export function startTestHost(name: string, n: number): TestHost {
    const out = execFileSync("bash", [SCRIPT, "up", name, String(n)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const kv = Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const { readFileSync } = require("node:fs") as typeof import("node:fs");
    return {
        name, n, addr: kv.ADDR, dir: kv.DIR, socket: kv.SOCKET, tlsClientDir: kv.TLS_CLIENT_DIR, sshUser: kv.SSH_USER, sshKey: kv.SSH_KEY,
        sshHostKey: readFileSync(kv.SSH_HOST_KEY, "utf8").trim(),
    };
}

export function stopTestHost(host: TestHost | undefined): void {
    if (host) execFileSync("bash", [SCRIPT, "down", host.name, String(host.n)], { stdio: "inherit" });
}

/** The docker CLI against the host's own engine (the test's eyes, not the program's way in). */
export function hostDocker(host: TestHost, ...args: string[]): string {
    return execFileSync("docker", ["-H", `unix://${host.socket}`, ...args], { encoding: "utf8", maxBuffer: 64 << 20 }).trim();
}

/** Copies images from this machine's engine, as a fresh host would pull its base image from a registry. */
export function loadImages(host: TestHost, ...refs: string[]): void {
    execFileSync("bash", ["-c", `docker save ${refs.join(" ")} | docker -H unix://${host.socket} load -q`], { stdio: ["ignore", "ignore", "inherit"] });
}

/** A known_hosts file holding the host's key (what `ssh-keyscan`, checked against the host, would give). */
export function knownHostsFile(path: string, host: TestHost, key = host.sshHostKey): string {
    const [type, blob] = key.split(/\s+/);
    writeFileSync(path, `${host.addr} ${type} ${blob}\n`);
    return path;
}
