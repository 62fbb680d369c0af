// Keep-alive load from real load generators, for the zero-drop tests and benchmarks: wrk (as fast as it can,
// issue #6) and hey (a fixed rate, the issues' measurements: 200 requests/s on 10 keep-alive connections, issue #12).
// wrk keeps every connection alive and counts what a client would call a failure: socket errors (connect, read,
// write, timeout) and non-2xx/3xx answers.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";

export interface LoadResult {
    requests: number;
    seconds: number;
    rps: number;
    socketErrors: { connect: number; read: number; write: number; timeout: number };
    non2xx: number;
    /** Every request that did not get a 2xx/3xx answer. */
    failed: number;
    raw: string;
}

export function parseWrk(out: string): LoadResult {
    const m = /(\d+) requests in ([\d.]+)(us|ms|s|m|h),/.exec(out);
    if (!m) throw new Error(`wrk printed no summary:\n${out}`);
    const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const socketErrors = se ? { connect: +se[1], read: +se[2], write: +se[3], timeout: +se[4] } : { connect: 0, read: 0, write: 0, timeout: 0 };
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    const seconds = Number(m[2]) * { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }[m[3] as "s"];
    const requests = Number(m[1]);
    const failed = non2xx + socketErrors.connect + socketErrors.read + socketErrors.write + socketErrors.timeout;
    return { requests, seconds, rps: Math.round(requests / seconds), socketErrors, non2xx, failed, raw: out };
}

/** Runs a load generator until stop(): SIGINT makes it print its summary, which `parse` reads. */
function untilStopped<T>(command: string, args: string[], parse: (out: string) => T): { stop(): Promise<T> } {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const done = new Promise<void>((resolve) => child.on("close", () => resolve()));
    return {
        async stop() {
            child.kill("SIGINT");
            await done;
            return parse(out);
        },
    };
}

/** Starts wrk against `url` until stop(). */
export function startLoad(url: string, opts: { threads?: number; connections?: number; headers?: Record<string, string> } = {}): { stop(): Promise<LoadResult> } {
    const headers = Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
    return untilStopped("wrk", ["-t", String(opts.threads ?? 2), "-c", String(opts.connections ?? 50), "-d", "3600s", "--timeout", "10s", ...headers, url], parseWrk);
}

/** Runs wrk for a fixed time. */
export async function runLoad(url: string, seconds: number, opts: { threads?: number; connections?: number } = {}): Promise<LoadResult> {
    const load = startLoad(url, opts);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return load.stop();
}

/** What `hey` counted: answers by status, and transport errors (the request got no answer at all). */
export interface HeyResult {
    requests: number;
    statuses: Record<string, number>;
    errors: number;
    /** Every request that did not get a 2xx/3xx answer. */
    failed: number;
    raw: string;
}

export function parseHey(out: string): HeyResult {
    if (!/Summary:/.test(out)) throw new Error(`hey printed no summary:\n${out}`);
    /** The "  [x]\ty" lines of a section, up to its first blank line, as [x, y]. */
    const section = (title: string): [string, string][] => {
        const i = out.indexOf(title);
        if (i < 0) return [];
        const lines = out.slice(i + title.length).replace(/^\n/, "").split("\n");
        const end = lines.findIndex((l) => l.trim() === "");
        return lines.slice(0, end < 0 ? undefined : end).map((l) => /^\s+\[(.+?)\]\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => [m[1], m[2]]);
    };
    // "[200]\t11982 responses", and "[3]\tGet ...: EOF" (the count in the brackets).
    const statuses = Object.fromEntries(section("Status code distribution:").map(([status, n]) => [status, parseInt(n, 10)]));
    const errors = section("Error distribution:").reduce((n, [count]) => n + Number(count), 0);
    const answered = Object.values(statuses).reduce((n, c) => n + c, 0);
    const bad = Object.entries(statuses).filter(([s]) => !/^[23]/.test(s)).reduce((n, [, c]) => n + c, 0);
    return { requests: answered + errors, statuses, errors, failed: bad + errors, raw: out };
}

/** The outside load the issues measure with: `hey -q <qps> -c <connections>` (default 200 requests/s on 10 keep-alive connections) until stop(). */
export function startHey(url: string, opts: { qps?: number; connections?: number } = {}): { stop(): Promise<HeyResult> } {
    return untilStopped(process.env.NOTESHUB_HEY ?? "hey", ["-z", "3600s", "-q", String(opts.qps ?? 20), "-c", String(opts.connections ?? 10), url], parseHey);
}

/**
 * Runs `steps` with hey on `url` from a second before to a second after (never a converged stack first: the load
 * spans the whole user path), prints what hey counted, and asserts it ran and nothing failed.
 */
export async function heyDuring(url: string, what: string, steps: () => Promise<void>): Promise<HeyResult> {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const load = startHey(url);
    let r: HeyResult;
    try {
        await sleep(1000);
        await steps();
        await sleep(1000);
    } finally {
        r = await load.stop();
    }
    console.log(`# ${what}: ${r.failed} failed of ${r.requests} (statuses ${JSON.stringify(r.statuses)}, errors ${r.errors})`);
    assert.ok(r.requests > 200, `load ran: ${r.requests} requests`);
    assert.equal(r.failed, 0, r.raw);
    return r;
}
