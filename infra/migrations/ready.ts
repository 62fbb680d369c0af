// Is the database ready for the stack? Only when it accepts the stack's own credentials (issue #14). The official
// mongo image's entrypoint first starts a temporary server without auth on 127.0.0.1 while it creates the root
// user, so a TCP check (and even an unauthenticated ping) passes on a server that is about to restart: the real
// check is an authenticated ping, retried while the server refuses the login or the connection, until a deadline.
import type { MongoClient } from "mongodb";

/** Errors that mean "not yet" on a first boot: the login refused (no user yet), the server restarting. */
export function notYet(err: unknown): boolean {
    const e = err as { code?: number; codeName?: string; name?: string; message?: string; cause?: unknown };
    if (e.code === 18 || e.codeName === "AuthenticationFailed") return true;
    if (/MongoServerSelectionError|MongoNetworkError|MongoNetworkTimeoutError/.test(e.name ?? "")) return true;
    return /ECONNREFUSED|ECONNRESET|socket hang up|connection .* closed|Authentication failed/i.test(e.message ?? "");
}

/** The server the login reached is the temporary one of a first boot (MongoDB runs it without authorization). */
class TemporaryServer extends Error {
    constructor() {
        const message = "the server answering runs without authorization (the official image's temporary first-boot server)";
        super(message);
        this.name = "MongoNetworkError"; // "not yet", like a server still starting
        this.message = message; // set again: a dynamic provider's serialized class does not pass it to Error
    }
}

/**
 * Is this the final server? MongoDB tells its options: the first boot's temporary server listens on 127.0.0.1 only,
 * without authorization (docker-entrypoint.sh), the final one with it. A server that says neither (FerretDB) passes.
 */
export async function finalServer(client: MongoClient): Promise<void> {
    let opts: { parsed?: { net?: { bindIp?: string }; security?: { authorization?: string } } };
    try {
        opts = (await client.db("admin").command({ getCmdLineOpts: 1 })) as typeof opts;
    } catch {
        return; // not MongoDB's command (FerretDB), or not allowed: the login is the check
    }
    if (opts.parsed?.net?.bindIp === "127.0.0.1" && opts.parsed.security?.authorization !== "enabled") throw new TemporaryServer();
}

/**
 * Connects and pings with the stack's credentials, retrying what a first boot explains until `timeoutMs`; returns the
 * connected client. `open` makes a fresh client each try (a failed one is closed). Not a first boot (the database
 * ran before), a refused login is a wrong password, not a user still being created: it fails at once.
 */
export async function waitForLogin(open: () => MongoClient, timeoutMs: number, where: string, opts: { firstBoot?: boolean; sleep?: (ms: number) => Promise<unknown> } = {}): Promise<MongoClient> {
    const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    const deadline = Date.now() + timeoutMs;
    let tries = 0;
    for (;;) {
        tries++;
        const client = open();
        try {
            await client.connect();
            await client.db("admin").command({ ping: 1 });
            await finalServer(client);
            return client;
        } catch (err) {
            await client.close().catch(() => undefined);
            const authRefused = (err as { code?: number }).code === 18 || /Authentication failed/i.test((err as Error).message ?? "");
            if (!notYet(err) || (authRefused && opts.firstBoot === false) || Date.now() >= deadline) {
                const why = (err as Error).message ?? String(err);
                const waited = notYet(err) && !(authRefused && opts.firstBoot === false);
                throw new Error(`${where} did not accept the stack's credentials${waited ? ` within ${Math.round(timeoutMs / 1000)} s (${tries} tries)` : ""}: ${why}` +
                    (authRefused ? `\n  -> ${opts.firstBoot === false ? "" : "on a first boot the official mongo image creates its root user first; if it has long finished, "}database.username/password are not the ones the database was created with (its volume keeps the first ones).` : ""));
            }
            await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
        }
    }
}
