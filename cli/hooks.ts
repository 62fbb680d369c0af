// The stack's hooks (config `hooks`, issue #17): before and after deploy and rollback, a shell command gets the facts
// as JSON on stdin (and NOTESHUB_EVENT, NOTESHUB_STACK in its environment), an http(s) URL gets them POSTed. Each
// result goes into the deployment log with the hook's output. A failing pre-deploy hook stops the deploy with that
// output before anything changes; rollbacks never wait on a hook's verdict.
import { spawn } from "node:child_process";
import type { NotesHubConfig } from "../infra/config";
import { projectRoot } from "../infra/paths";
import type { Context } from "./context";

export type HookEvent = "pre-deploy" | "post-deploy" | "pre-rollback" | "post-rollback";

export interface HookResult {
    readonly hook: string;
    readonly ok: boolean;
    /** What it printed (or the HTTP answer), the last 4 KB. */
    readonly output: string;
    readonly seconds: number;
}

const keyOf: Record<HookEvent, keyof NotesHubConfig["hooks"]> = { "pre-deploy": "preDeploy", "post-deploy": "postDeploy", "pre-rollback": "preRollback", "post-rollback": "postRollback" };
const tail = (text: string) => (text.length > 4096 ? text.slice(-4096) : text);

function runCommand(command: string, input: string, env: NodeJS.ProcessEnv, timeoutSec: number): Promise<{ ok: boolean; output: string }> {
    return new Promise((resolve) => {
        // Its own process group, so a timeout stops whatever it started too (a curl it waits on), not only sh.
        const child = spawn("sh", ["-c", command], { cwd: projectRoot(), env, stdio: ["pipe", "pipe", "pipe"], detached: true });
        let settled = false;
        const settle = (r: { ok: boolean; output: string }) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            child.stdout.destroy();
            child.stderr.destroy();
            resolve(r);
        };
        let output = "";
        child.stdout.on("data", (d) => (output = tail(output + d)));
        child.stderr.on("data", (d) => (output = tail(output + d)));
        const timer = setTimeout(() => {
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                child.kill("SIGKILL");
            }
            settle({ ok: false, output: tail(`${output}\n(stopped after ${timeoutSec} s: hooks.timeoutSec)`) });
        }, timeoutSec * 1000);
        child.on("error", (err) => settle({ ok: false, output: tail(`${output}${err.message}`) }));
        // "exit", not "close": a background process the hook left holding its output must not keep us waiting.
        child.on("exit", (code) => setTimeout(() => settle({ ok: code === 0, output: code === 0 ? output : tail(`${output}${output.endsWith("\n") || !output ? "" : "\n"}(exited ${code})`) }), 50));
        child.stdin.on("error", () => undefined); // a hook that does not read its stdin
        child.stdin.end(input);
    });
}

async function post(hook: string, input: string, timeoutSec: number): Promise<{ ok: boolean; output: string }> {
    try {
        // fetch refuses a URL with user:password in it: they go as Basic auth.
        const url = new URL(hook);
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (url.username || url.password) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
        url.username = url.password = "";
        const res = await fetch(url, { method: "POST", headers, body: input, signal: AbortSignal.timeout(timeoutSec * 1000) });
        const text = await res.text().catch(() => "");
        return { ok: res.ok, output: tail(`HTTP ${res.status}${text ? `: ${text}` : ""}`) };
    } catch (err) {
        return { ok: false, output: (err as Error).message };
    }
}

/**
 * Runs the event's hooks in order with the facts; each one's result is said and logged. A pre-deploy hook that fails
 * throws HookFailed: the hooks after it and the deploy do not run.
 */
export async function runHooks(ctx: Context, cfg: NotesHubConfig, event: HookEvent, facts: Record<string, unknown>): Promise<HookResult[]> {
    const hooks = cfg.hooks[keyOf[event]] as string[];
    const results: HookResult[] = [];
    const input = JSON.stringify({ event, stack: ctx.stack.name, time: new Date().toISOString(), ...facts });
    for (const hook of hooks) {
        const started = Date.now();
        // A URL is named by its host only: its path and query often carry the secret (a Slack webhook's do).
        const shown = /^https?:\/\//.test(hook) ? hook.replace(/^(https?:\/\/)(?:[^/@]*@)?([^/?#]*).*$/, "$1$2/…") : hook;
        const r = /^https?:\/\//.test(hook)
            ? await post(hook, input, cfg.hooks.timeoutSec)
            : await runCommand(hook, input, { ...process.env, NOTESHUB_EVENT: event, NOTESHUB_STACK: ctx.stack.name }, cfg.hooks.timeoutSec);
        // An error may quote the URL: it is said and logged as shown.
        const output = /^https?:\/\//.test(hook) ? r.output.split(hook).join(shown).replace(/https?:\/\/[^\s"']+/g, (u) => u.replace(/^(https?:\/\/)(?:[^/@]*@)?([^/?#]*).*$/, "$1$2/…")) : r.output;
        const result = { hook: shown, ok: r.ok, output, seconds: (Date.now() - started) / 1000 };
        results.push(result);
        ctx.say(`${event} hook ${shown}: ${r.ok ? "ok" : "FAILED"}${output.trim() ? `\n    ${output.trim().split("\n").join("\n    ")}` : ""}`);
        ctx.log("hook", `${event} hook ${shown}`, r.ok, { seconds: result.seconds, figures: { output }, ...(r.ok ? {} : { error: output.trim().split("\n").slice(-5).join("\n") }) });
        if (!r.ok && event === "pre-deploy") throw new HookFailed(event, result);
    }
    return results;
}

/**
 * A rollback's hooks: the pre-rollback ones start now and run beside it (a hook never delays a rollback); `done`
 * waits for them, then runs the post-rollback ones with whether it worked.
 */
export function rollbackHooks(ctx: Context, cfg: NotesHubConfig, facts: Record<string, unknown>): { done(ok: boolean): Promise<void> } {
    const pre = runHooks(ctx, cfg, "pre-rollback", facts);
    return {
        async done(ok) {
            await pre;
            await runHooks(ctx, cfg, "post-rollback", { ...facts, ok });
        },
    };
}

/** A pre-deploy hook failed: the deploy did not start (exit 1; nothing was changed). */
export class HookFailed extends Error {
    constructor(event: HookEvent, r: HookResult) {
        super(`${event} hook ${r.hook} failed, so nothing was changed:\n${r.output.trim()}`);
        this.name = "HookFailed";
    }
}
