// How every provider reaches the Docker engine, and how engine failures read to a user.
// Functions here are captured by the dynamic providers' closures, so they `require` what they use inside.
import type Dockerode from "dockerode";
// Imported, not required: a dynamic provider's serialized closure captures these functions (a relative require
// inside it would not resolve where the provider runs).
import { hostKeyAlgorithms, hostKeyRefusal, knownHostName, verifyHostKey } from "./knownHosts";
import { sshAgent } from "./sshTunnel";

/** Where the Docker engine is: stack config `docker` (local socket by default). */
export interface DockerConnection {
    /** unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host[:port]. */
    readonly host: string;
    /** Directory holding ca.pem, cert.pem and key.pem for tcp:// with TLS. */
    readonly tlsCertDir?: string;
    /** For ssh://: the known_hosts file the host's key must be in (default ~/.ssh/known_hosts). */
    readonly knownHosts?: string;
    /** For ssh://: a private key file; otherwise the keys of the running ssh-agent (SSH_AUTH_SOCK). */
    readonly identityFile?: string;
}

const expandHome = (p: string) => p.replace(/^~(?=\/|$)/, process.env.HOME ?? "~");

/**
 * Why the last ssh connection to a host was refused (its key), by known_hosts name: the engine's client only says
 * "Host denied", so engineError looks the reason up here. Runtime state, never part of a serialized provider.
 */
function hostKeyRefusals(): Record<string, string> {
    const g = globalThis as { __noteshubHostKeyRefusals?: Record<string, string> };
    return (g.__noteshubHostKeyRefusals ??= {});
}

/** The ssh options for a Docker host: its key checked against known_hosts (never accepted blindly), keys from the agent or a file. */
function sshOptions(conn: DockerConnection, host: string, port: number): Record<string, unknown> {
    const fs = require("fs") as typeof import("fs");
    const file = expandHome(conn.knownHosts ?? "~/.ssh/known_hosts");
    const name = knownHostName(host, port);
    const read = () => {
        try {
            return fs.readFileSync(file, "utf8");
        } catch {
            return ""; // no file: every key is unknown (the message says how to add it)
        }
    };
    let privateKey: Buffer | undefined;
    if (conn.identityFile) {
        try {
            privateKey = fs.readFileSync(expandHome(conn.identityFile));
        } catch (err) {
            throw new Error(`docker.identityFile ${conn.identityFile}: can't read the ssh key (${(err as Error).message}); fix: pulumi config set --path docker.identityFile <a private key file>, or unset it to use ssh-agent`);
        }
    }
    // Ask the host for the key types known_hosts holds for it (as OpenSSH does): a host with only an ecdsa line
    // is then checked against that line, not refused for offering its ed25519 key first.
    const serverHostKey = hostKeyAlgorithms(read(), name);
    return {
        agent: conn.identityFile ? undefined : process.env.SSH_AUTH_SOCK,
        privateKey,
        readyTimeout: 20_000,
        ...(serverHostKey.length ? { algorithms: { serverHostKey } } : {}),
        hostVerifier: (key: Buffer) => {
            const verdict = verifyHostKey(read(), name, key);
            if (!verdict.ok) hostKeyRefusals()[name] = hostKeyRefusal(verdict, name, file);
            return verdict.ok;
        },
    };
}

/** dockerode options for a connection; pure, so the mapping is tested without an engine. */
export function dockerodeOptions(conn: DockerConnection): Dockerode.DockerOptions {
    const url = new URL(conn.host);
    switch (url.protocol) {
        case "unix:":
            return { socketPath: url.pathname };
        case "npipe:":
            return { socketPath: conn.host.slice("npipe://".length) };
        case "tcp:": {
            const tls = conn.tlsCertDir !== undefined;
            const opts: Dockerode.DockerOptions = { protocol: tls ? "https" : "http", host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)) };
            if (tls) {
                const fs = require("fs") as typeof import("fs");
                const path = require("path") as typeof import("path");
                const dir = expandHome(conn.tlsCertDir!);
                opts.ca = fs.readFileSync(path.join(dir, "ca.pem"));
                opts.cert = fs.readFileSync(path.join(dir, "cert.pem"));
                opts.key = fs.readFileSync(path.join(dir, "key.pem"));
            }
            return opts;
        }
        case "ssh:": {
            // As `docker -H ssh://...`: the far side runs `docker system dial-stdio` for each connection, here as
            // channels of one shared ssh connection (sshTunnel.ts).
            const port = Number(url.port || 22);
            // As ssh: no user in the URL is this machine's user. ssh: URLs keep an IPv6 address's brackets.
            const username = decodeURIComponent(url.username) || (require("os") as typeof import("os")).userInfo().username;
            const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
            const key = JSON.stringify([conn.host, conn.knownHosts ?? "", conn.identityFile ?? ""]);
            const agent = sshAgent({ key, host, port, username, options: sshOptions(conn, host, port) });
            return { protocol: "http", host: url.hostname, port, agent } as Dockerode.DockerOptions; // docker-modem passes `agent` on
        }
        default:
            throw new Error(`docker.host ${conn.host}: unsupported scheme ${url.protocol}; use unix://, tcp:// or ssh://`);
    }
}

/** The host name of a remote engine (tcp://, ssh://); undefined for a local socket. */
export function engineHostName(conn: DockerConnection): string | undefined {
    const url = new URL(conn.host);
    return url.protocol === "tcp:" || url.protocol === "ssh:" ? url.hostname : undefined;
}

export function connect(conn: DockerConnection): Dockerode {
    const Docker = require("dockerode") as typeof Dockerode;
    return new Docker(dockerodeOptions(conn));
}

/** The HTTP status dockerode attaches to engine errors, if any. */
export function statusOf(err: unknown): number | undefined {
    return (err as { statusCode?: number }).statusCode;
}

/** The engine's own words: dockerode puts them in `json.message`, else the Error message. */
export function engineMessage(err: unknown): string {
    const e = err as { json?: { message?: string }; reason?: string; message?: string };
    return (e.json?.message ?? e.message ?? String(err)).trim();
}

/**
 * One error a user can act on: what failed (operation + resource), what the engine said, and what to do.
 * Common causes get a concrete next step.
 */
export function engineError(op: string, target: string, conn: DockerConnection, err: unknown): Error {
    const msg = engineMessage(err);
    const code = (err as { code?: string }).code;
    let hint = "";
    const refusedKey = /Host denied \(verification failed\)/.test(msg) ? hostKeyRefusalFor(conn) : undefined;
    if (refusedKey) {
        return new Error(`docker: ${op} ${target}: ${refusedKey}`);
    } else if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES" || /connect ENOENT|ECONNREFUSED/.test(msg)) {
        hint = `the Docker engine at ${conn.host} is not reachable (${code ?? msg}); start it (scripts/setup.sh starts a local one) or set noteshub:docker.host`;
    } else if (/port is already allocated|address already in use/i.test(msg)) {
        const port = /:(\d+)/.exec(msg.replace(/.*(0\.0\.0\.0|127\.0\.0\.1|\[::\])/, "$1"))?.[1];
        hint = `host port ${port ?? ""} is already in use; stop what holds it (e.g. \`ss -ltnp | grep ${port ?? "<port>"}\`) or choose another port in stack config`.replace("  ", " ");
    } else if (/sysctl.*tcp_migrate_req|tcp_migrate_req.*(no such file|not allowed|invalid)/i.test(msg)) {
        hint = "this Docker host's kernel has no net.ipv4.tcp_migrate_req (Linux 5.14+); pulumi config set --path 'loadBalancer.migrateAcceptQueue' false";
    } else if (op === "pull" || /no such image|pull access denied|manifest unknown/i.test(msg)) {
        hint = "the Docker host could not get the image: check its name and version in stack config, the registry login on the Docker host (docker login), and that the host reaches the registry; or build it (app.build / database.build)";
    }
    return new Error(`docker: ${op} ${target}: ${msg}${hint ? `\n  -> ${hint}` : ""}`);
}

/** The recorded reason an ssh:// host's key was refused, if that is what happened. */
function hostKeyRefusalFor(conn: DockerConnection): string | undefined {
    if (!conn.host.startsWith("ssh://")) return undefined;
    const url = new URL(conn.host);
    return hostKeyRefusals()[knownHostName(url.hostname, Number(url.port || 22))]; // knownHostName unbrackets IPv6
}

export interface ExecResult {
    readonly exitCode: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a command in a running container and collects its output (the engine multiplexes both streams). */
export async function execIn(docker: Dockerode, containerId: string, cmd: string[], user?: string): Promise<ExecResult> {
    const { PassThrough } = require("stream") as typeof import("stream");
    const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(user ? { User: user } : {}) });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const o = new PassThrough().on("data", (c: Buffer) => out.push(c));
    const e = new PassThrough().on("data", (c: Buffer) => err.push(c));
    docker.modem.demuxStream(stream, o, e);
    await new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("close", resolve);
        stream.on("error", reject);
    });
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}
