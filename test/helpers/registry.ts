// A container registry for the production suites (issue #14): Debian's docker-registry with TLS (a test CA) and
// htpasswd auth, on the test bridge's address so both this machine's engine and the test hosts' reach it. The CA is
// trusted through /etc/docker/certs.d/<addr>/ca.crt (one file serves every engine: namespaces share the filesystem),
// removed again by stop().
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync, copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface TestRegistry {
    /** host:port, as image references name it. */
    readonly addr: string;
    readonly username: string;
    readonly password: string;
    readonly caFile: string;
    stop(): void;
}

const CERTS_D = "/etc/docker/certs.d";

export async function startRegistry(ip: string, port: number): Promise<TestRegistry> {
    const dir = mkdtempSync("/var/tmp/noteshub-registry-");
    const addr = `${ip}:${port}`;
    const username = "rota";
    const password = "registry-password-0123";
    execFileSync("bash", ["-c", [
        `cd ${dir}`,
        `openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=noteshub test registry CA" -keyout ca-key.pem -out ca.pem`,
        `openssl req -newkey rsa:2048 -nodes -subj "/CN=${ip}" -keyout key.pem -out req.csr`,
        `printf 'subjectAltName=IP:${ip}\\nextendedKeyUsage=serverAuth\\n' > ext`,
        `openssl x509 -req -in req.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile ext -out cert.pem`,
        `htpasswd -Bbn ${username} ${password} > htpasswd`,
    ].join(" && ")], { stdio: "ignore" });
    writeFileSync(join(dir, "config.yml"), [
        "version: 0.1",
        "log: { level: warn }",
        `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
        `http: { addr: "${addr}", tls: { certificate: ${dir}/cert.pem, key: ${dir}/key.pem } }`,
        `auth: { htpasswd: { realm: noteshub-test, path: ${dir}/htpasswd } }`,
        "",
    ].join("\n"));
    const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const hadCertsD = existsSync(CERTS_D);
    const trust = join(CERTS_D, addr);
    mkdirSync(trust, { recursive: true });
    copyFileSync(join(dir, "ca.pem"), join(trust, "ca.crt"));
    const stop = () => {
        child.kill();
        rmSync(trust, { recursive: true, force: true });
        if (!hadCertsD && existsSync(CERTS_D) && readdirSync(CERTS_D).length === 0) rmdirSync(CERTS_D);
        rmSync(dir, { recursive: true, force: true });
    };
    for (let i = 0; ; i++) {
        // Up when it answers /v2/ (401 without credentials).
        const code = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", join(dir, "ca.pem"), `https://${addr}/v2/`], { encoding: "utf8" }).stdout.trim();
        if (code === "401") break;
        if (i > 100 || child.exitCode !== null) {
            stop();
            throw new Error(`the test registry did not start on ${addr}: ${stderr.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    return { addr, username, password, caFile: join(dir, "ca.pem"), stop };
}

/**
 * Pushes an image of this machine's engine to the registry as `target` and returns its digest. The docker CLI logs
 * in with a config directory of its own, so the user's ~/.docker is never touched.
 */
export function pushAs(reg: TestRegistry, local: string, target: string): string {
    const config = mkdtempSync("/var/tmp/noteshub-docker-config-");
    try {
        const env = { ...process.env, DOCKER_CONFIG: config };
        execFileSync("docker", ["login", "-u", reg.username, "--password-stdin", reg.addr], { env, input: reg.password, stdio: ["pipe", "ignore", "inherit"] });
        execFileSync("docker", ["tag", local, target], { env });
        execFileSync("docker", ["push", "-q", target], { env, stdio: ["ignore", "ignore", "inherit"] });
        const digests = execFileSync("docker", ["image", "inspect", "-f", "{{json .RepoDigests}}", target], { env, encoding: "utf8" });
        const repo = target.slice(0, target.lastIndexOf(":"));
        const found = (JSON.parse(digests) as string[]).find((d) => d.startsWith(`${repo}@`));
        if (!found) throw new Error(`no digest for ${target} after its push: ${digests}`);
        execFileSync("docker", ["rmi", target], { env, stdio: "ignore" });
        return found.split("@")[1];
    } finally {
        rmSync(config, { recursive: true, force: true });
    }
}
