// Keep-alive load from a real load generator (wrk), for the zero-drop tests and benchmarks (issue #6).
// wrk keeps every connection alive and counts what a client would call a failure: socket errors (connect, read,
// write, timeout) and non-2xx/3xx answers.
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

/** Starts wrk against `url` until stop() (SIGINT makes wrk print its summary). */
export function startLoad(url: string, opts: { threads?: number; connections?: number } = {}): { stop(): Promise<LoadResult> } {
    const args = ["-t", String(opts.threads ?? 2), "-c", String(opts.connections ?? 50), "-d", "3600s", "--timeout", "10s", url];
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const done = new Promise<void>((resolve) => child.on("close", () => resolve()));
    return {
        async stop() {
            child.kill("SIGINT");
            await done;
            return parseWrk(out);
        },
    };
}

/** Runs wrk for a fixed time. */
export async function runLoad(url: string, seconds: number, opts: { threads?: number; connections?: number } = {}): Promise<LoadResult> {
    const load = startLoad(url, opts);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return load.stop();
}
