// An ssh:// Docker host over one ssh connection per process (issue #14), as OpenSSH's ControlMaster does for
// `docker -H ssh://`: docker-modem's own ssh agent makes a new ssh handshake for every API call (≈ 0.3 s each, and a
// `pulumi up` makes dozens). Each HTTP connection is a channel running `docker system dial-stdio` on the far side.
// The connection is checked like any ssh client's (the host key against known_hosts, engine.ts); it is shared by the
// requests of one process, kept in `globalThis` (runtime state: never part of a serialized provider), and closed
// when idle. Captured by the dynamic providers: `require` inside.
import type { Agent } from "node:http";

export interface SshTarget {
    /** Everything that makes two targets the same connection, host key check included (never shared across them). */
    readonly key: string;
    readonly host: string;
    readonly port: number;
    readonly username?: string;
    /** ssh2 connect options: keys, hostVerifier, timeouts. */
    readonly options: Record<string, unknown>;
}

/**
 * OpenSSH's MaxSessions is 10 by default: each connection carries at most this many channels; more requests at once
 * (long-lived ones hold theirs: relays, followed logs) open another connection rather than wait.
 */
const MAX_CHANNELS = 8;
const IDLE_CLOSE_MS = 30_000;

interface Session {
    client: import("ssh2").Client;
    ready: Promise<void>;
    open: number;
    closed: boolean;
    idle?: ReturnType<typeof setTimeout>;
}

function pools(): Record<string, Session[]> {
    const g = globalThis as { __noteshubSsh?: Record<string, Session[]> };
    return (g.__noteshubSsh ??= {});
}

/** The socket under the ssh connection: not holding the process open while no request uses it. */
function hold(s: Session, on: boolean): void {
    const sock = (s.client as unknown as { _sock?: { ref?: () => void; unref?: () => void } })._sock;
    if (on) sock?.ref?.();
    else sock?.unref?.();
}

/** A live connection to the target with a free channel, or a new one. */
function session(t: SshTarget): Session {
    const pool = (pools()[t.key] ??= []);
    const free = pool.find((x) => !x.closed && x.open < MAX_CHANNELS);
    if (free) return free;
    const { Client } = require("ssh2") as typeof import("ssh2");
    const client = new Client();
    const s: Session = {
        client, open: 0, closed: false,
        ready: new Promise<void>((resolve, reject) => {
            client.once("ready", resolve).once("error", reject);
        }),
    };
    // A dropped or refused connection leaves the pool at once: the next request connects again.
    const drop = () => {
        s.closed = true;
        const i = pool.indexOf(s);
        if (i >= 0) pool.splice(i, 1);
    };
    s.ready.catch(drop);
    client.on("error", drop).on("close", drop).on("end", drop);
    client.connect({ ...t.options, host: t.host, port: t.port, username: t.username } as never);
    pool.push(s);
    return s;
}

async function channel(t: SshTarget): Promise<import("node:stream").Duplex> {
    const s = session(t);
    s.open++; // counted before the handshake, so concurrent requests spread over connections
    if (s.idle) clearTimeout(s.idle);
    let released = false;
    const done = () => {
        if (released) return;
        released = true;
        s.open--;
        if (s.open === 0 && !s.closed) {
            hold(s, false);
            s.idle = setTimeout(() => {
                // Out of the pool first: a request arriving now opens a new connection, never this closing one.
                s.closed = true;
                const pool = pools()[t.key] ?? [];
                if (pool.includes(s)) pool.splice(pool.indexOf(s), 1);
                s.client.end();
            }, IDLE_CLOSE_MS);
            s.idle.unref();
        }
    };
    try {
        await s.ready;
        hold(s, true);
        return await new Promise((resolve, reject) => {
            // exec throws at once on a connection that just dropped; its callback reports the rest.
            s.client.exec("docker system dial-stdio", (err, stream) => {
                if (err) return reject(err);
                stream.once("close", done);
                resolve(stream);
            });
        });
    } catch (err) {
        done();
        throw err;
    }
}

/** An http.Agent whose connections are dial-stdio channels on the shared ssh connection to the host. */
export function sshAgent(t: SshTarget): Agent {
    const http = require("http") as typeof import("http");
    const agent = new http.Agent({ keepAlive: false });
    (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: (err: Error | null, s?: unknown) => void) => {
        channel(t).then((stream) => cb(null, stream), (err: Error) => cb(err));
        return undefined;
    };
    return agent;
}
