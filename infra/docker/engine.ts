// How every provider reaches the Docker engine, and how engine failures read to a user.
// Functions here are captured by the dynamic providers' closures, so they `require` what they use inside.
import type Dockerode from "dockerode";

/** Where the Docker engine is: stack config `docker` (local socket by default). */
export interface DockerConnection {
    /** unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host[:port]. */
    readonly host: string;
    /** Directory holding ca.pem, cert.pem and key.pem for tcp:// with TLS. */
    readonly tlsCertDir?: string;
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
                const dir = conn.tlsCertDir!.replace(/^~(?=\/)/, process.env.HOME ?? "~");
                opts.ca = fs.readFileSync(path.join(dir, "ca.pem"));
                opts.cert = fs.readFileSync(path.join(dir, "cert.pem"));
                opts.key = fs.readFileSync(path.join(dir, "key.pem"));
            }
            return opts;
        }
        case "ssh:":
            // Keys come from the running ssh-agent, as with `docker -H ssh://...`.
            return {
                protocol: "ssh", host: url.hostname, port: Number(url.port || 22), username: url.username || undefined,
                sshOptions: { agent: process.env.SSH_AUTH_SOCK },
            } as Dockerode.DockerOptions;
        default:
            throw new Error(`docker.host ${conn.host}: unsupported scheme ${url.protocol}; use unix://, tcp:// or ssh://`);
    }
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
    if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES" || /connect ENOENT|ECONNREFUSED/.test(msg)) {
        hint = `the Docker engine at ${conn.host} is not reachable (${code ?? msg}); start it (scripts/setup.sh starts a local one) or set noteshub:docker.host`;
    } else if (/port is already allocated|address already in use/i.test(msg)) {
        const port = /:(\d+)/.exec(msg.replace(/.*(0\.0\.0\.0|127\.0\.0\.1|\[::\])/, "$1"))?.[1];
        hint = `host port ${port ?? ""} is already in use; stop what holds it (e.g. \`ss -ltnp | grep ${port ?? "<port>"}\`) or choose another port in stack config`.replace("  ", " ");
    } else if (op === "pull" || /no such image|pull access denied|manifest unknown/i.test(msg)) {
        hint = "the Docker host could not get the image: check its name and version in stack config, the registry login on the Docker host (docker login), and that the host reaches the registry; or build it (app.build / database.build)";
    }
    return new Error(`docker: ${op} ${target}: ${msg}${hint ? `\n  -> ${hint}` : ""}`);
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
