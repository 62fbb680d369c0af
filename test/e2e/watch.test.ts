// Automatic rollback end to end (issue #7), on a staging-shaped stack with short windows, under wrk load:
// - deploy of a release that answers 20 % errors: the trigger fires while the 10 % step is watched and traffic goes
//   back; failed requests stay within (step share x window); the webhook gets the runbook's messages in order;
// - noteshub watch: health failing 3 times in a row rolls back, a single blip does not; a database connection
//   failing rolls back; a dead webhook does not delay it; Prometheus text is served;
// - with the runbook's defaults scaled by one factor (every window and duration ÷ 30): deploy keeps watching at
//   100 % and a trigger there rolls back; a condition that began at 10 % fires across the steps after it;
//   a canary paused at 10 % and flooded with slow uploads and bad requests (the clients' doing, not the release's)
//   is not rolled back.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { readLog } from "../../cli/log";
import { startLoad } from "../helpers/load";
import { docker, freePort, http, TestStack, startTestStack } from "../helpers/stack";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";

const STACK = "e2e-watch";
const FOR_SEC = 4;
const WINDOW_SEC = 2;

describe("automatic rollback (real engine, short windows)", { timeout: 900_000 }, () => {
    let stack: TestStack;
    let url: string;
    let hook: Server;
    let received: { event: string; text: string; at: number }[] = [];
    let hookMode: "ok" | "dead" = "ok";

    const cli = (...args: string[]) => stack.noteshub(...args);
    const configText = () => readFileSync(stack.configFile, "utf8");
    const log = () => readLog(stack.logFile);
    const drill = (color: string, sw: string, on: boolean) => docker("exec", `noteshub-${STACK}-${color}`, "sh", "-c", on ? `mkdir -p /tmp/noteshub-drill && touch /tmp/noteshub-drill/${sw}` : `rm -f /tmp/noteshub-drill/${sw}`);
    /** Waits until the deployment log has the end of that command (the watcher's rollback, recorded by pulumi up). */
    const recorded = async (what: string) => {
        const until = Date.now() + 60_000;
        while (!log().some((e) => e.event === "command-finished" && e.what === what)) {
            assert.ok(Date.now() < until, `no command-finished for ${what}`);
            await new Promise((res) => setTimeout(res, 200));
        }
    };
    const live = async () => (await http(`${url}/lb/status`)).body as { active: string; traffic: number };
    const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
    /** The runbook's monitoring defaults with every window and duration ÷ 30 (thresholds stay). */
    const scaledDefaults = () => {
        const scaled = {
            windowSec: 2, minRequests: 10, stepSec: 2, watchSec: 60, statusEverySec: 10,
            triggers: { errorRate: { percent: 10, forSec: 10 }, p95: { ms: 5000, forSec: 10 }, health: { failures: 3, intervalSec: 1 }, database: { failures: 3 } },
        };
        const text = readFileSync(stack.configFile, "utf8");
        assert.match(text, /^ {2}noteshub:monitoring: .*$/m);
        writeFileSync(stack.configFile, text.replace(/^ {2}noteshub:monitoring: .*$/m, `  noteshub:monitoring: ${JSON.stringify(JSON.stringify(scaled))}`));
    };

    before(async () => {
        hook = createServer((req, res) => {
            if (hookMode === "dead") return; // accepts, never answers
            let body = "";
            req.on("data", (d) => (body += d)).on("end", () => {
                const b = JSON.parse(body);
                received.push({ event: b.event, text: b.text, at: Date.now() });
                res.writeHead(200).end();
            });
        });
        await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
        ({ stack, url } = await startTestStack(STACK, {
            app: { repository: "noteshub-api", build: "examples/noteshub-api", env: { NOTESHUB_DRILL_DIR: "/tmp/noteshub-drill" }, envByVersion: { "v1.0.1": { NOTESHUB_USER_ERROR_RATE: "0.2" } } }, // smoke passes: the triggers must catch it
            monitoring: {
                windowSec: WINDOW_SEC, minRequests: 5, stepSec: 20, statusEverySec: 2,
                triggers: { errorRate: { percent: 10, forSec: FOR_SEC }, p95: { ms: 5000, forSec: FOR_SEC }, health: { failures: 3, intervalSec: 1 }, database: { failures: 2 } },
            },
            notifications: { attempts: 2, timeoutSec: 2 },
        }, { "notifications.webhook": `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` }));
    });
    after(() => {
        hook?.closeAllConnections();
        hook?.close();
        stack?.dispose();
    });

    it("deploy of a release answering 20 % errors: rolled back while the 10 % step is watched, within the bound", async () => {
        const load = startLoad(`${url}/api/notes`, { threads: 1, connections: 10 });
        const r = await cli("deploy", "v1.0.1").done;
        const result = await load.stop();
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.json.trigger.trigger, "error-rate", r.stderr);
        assert.match(r.json.trigger.reason, /^error rate \d+\.\d % > 10 % for 4 s/);
        assert.equal(r.json.restored.ok, true, r.stderr);
        assert.deepEqual(await live(), { ...(await live()), active: "blue", traffic: 100 });
        assert.match(configText(), /noteshub:activeColor: "?blue"?/);
        assert.match(configText(), /noteshub:traffic: "?100"?/);
        // Failed requests: only those green (10 %, 20 % of them failing) answered until traffic came back.
        const bound = 0.1 * result.rps * (FOR_SEC + WINDOW_SEC + 10);
        assert.ok(result.failed > 0 && result.failed <= bound, `failed ${result.failed} of ${result.requests} (bound ${bound.toFixed(0)}); ${r.stderr}`);
        const detect = r.json.trigger.firedAt - r.json.trigger.firstBadAt;
        assert.ok(detect >= FOR_SEC * 1000 && detect < (FOR_SEC + 3) * 1000, `detect ${detect} ms`);
        // The runbook's messages, in order, with the real versions.
        await new Promise((res) => setTimeout(res, 500));
        const events = received.map((m) => m.event);
        assert.equal(events[0], "rollback-initiated", `${JSON.stringify(log().filter((e) => e.event === "notification"))}\n${r.stderr}`);
        assert.equal(events.at(-1), "rollback-completed", events.join());
        assert.ok(events.slice(1, -1).every((e) => e === "rollback-update"), events.join());
        assert.match(received[0].text, /^🔴 ROLLBACK IN PROGRESS \(e2e-watch\)\nVersion: v1\.0\.1 → v1\.0\.0\nReason: error rate/);
        assert.match(received.at(-1)!.text, /^✅ ROLLBACK COMPLETED \(e2e-watch\)\nVersion: Now running v1\.0\.0\n[\s\S]*Impact: ~\d+ s of degraded service on v1\.0\.1 \(\d+ of \d+ requests to it failed\)/);
        // The log: the trigger with its figures, the failed step, the restore.
        const trig = log().find((e) => e.event === "trigger")!;
        assert.equal(trig.figures?.rolledBackFrom, "green@v1.0.1");
        assert.ok(Number(trig.figures?.errorRate) > 10);
        assert.ok(log().some((e) => e.event === "step" && !e.ok && /^rollback trigger error-rate: error rate/.test(e.error ?? "")));
        assert.ok(log().some((e) => e.event === "restore" && e.ok && /activeColor=blue, traffic=100/.test(e.what)), JSON.stringify(log().filter((e) => e.event === "restore")));
        assert.deepEqual(log().filter((e) => e.event === "notification").map((e) => e.ok), events.map(() => true));
    });

    it("watch: a single health blip does not roll back; health failing 3 times in a row does, even with a dead webhook", async () => {
        // Put green (v1.0.1, without errors now) live, then watch it.
        stack.must("config", "rm", "--path", "app.envByVersion");
        stack.must("config", "set", "activeColor", "green");
        assert.equal(stack.up().code, 0);
        received = [];
        hookMode = "dead";
        const metricsPort = await freePort();
        const w = cli("watch", "--for", "60", "--every", "1", "--metrics-port", String(metricsPort));
        const load = startLoad(`${url}/`, { threads: 1, connections: 5 });
        await new Promise((res) => setTimeout(res, 4000));
        // One failing probe (interval 1 s): a blip.
        drill("green", "fail-health", true);
        await new Promise((res) => setTimeout(res, 1200));
        drill("green", "fail-health", false);
        await new Promise((res) => setTimeout(res, 4000));
        assert.equal((await live()).active, "green", "a blip must not roll back");
        const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
        assert.match(metrics, /^noteshub_requests_total\{stack="e2e-watch",color="green",version="v1\.0\.1"\} [1-9]\d*$/m);
        assert.match(metrics, /^noteshub_database_up\{stack="e2e-watch"\} 1$/m);
        // Now it keeps failing.
        const failedAt = Date.now();
        drill("green", "fail-health", true);
        let movedAt = 0;
        while (Date.now() - failedAt < 30_000) {
            if ((await live()).active === "blue") { movedAt = Date.now(); break; }
            await new Promise((res) => setTimeout(res, 100));
        }
        assert.ok(movedAt, "traffic never moved back to blue");
        // 3 failures 1 s apart, then the fast switch; a dead webhook (2 attempts x 2 s) must not be in the way.
        assert.ok(movedAt - failedAt < 3000 + 6000, `traffic back after ${movedAt - failedAt} ms`);
        await recorded("rollback (trigger health)");
        w.child.kill("SIGINT");
        const r = await w.done;
        await load.stop();
        drill("green", "fail-health", false);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.json.actions.length, 1, JSON.stringify(r.json.actions));
        assert.equal(r.json.actions[0].trigger.trigger, "health");
        assert.match(configText(), /noteshub:activeColor: "?blue"?/);
        assert.ok(log().some((e) => e.event === "notification" && !e.ok), "the dead webhook's failure is in the log");
    });

    it("watch: the live colour's database connection failing rolls back", async () => {
        hookMode = "ok";
        stack.must("config", "set", "activeColor", "green");
        assert.equal(stack.up().code, 0);
        const w = cli("watch", "--for", "60", "--every", "1");
        await new Promise((res) => setTimeout(res, 3000));
        drill("green", "fail-database", true);
        const r = await Promise.race([
            (async () => {
                for (;;) {
                    if ((await live()).active === "blue") return true;
                    await new Promise((res) => setTimeout(res, 200));
                }
            })(),
            new Promise<false>((res) => setTimeout(() => res(false), 30_000)),
        ]);
        if (r) await recorded("rollback (trigger database)");
        w.child.kill("SIGINT");
        const out = await w.done;
        drill("green", "fail-database", false);
        assert.ok(r, `no rollback: ${out.stderr}`);
        assert.ok(out.json, `watch printed no JSON (exit ${out.code}): ${out.stderr}`);
        assert.equal(out.json.actions[0]?.trigger.trigger, "database", out.stderr);
        assert.match(out.json.actions[0].trigger.reason, /database connection failing: 2 health checks in a row/);
    });

    it("scaled defaults: deploy keeps watching at 100 %, and errors starting there roll it back", async () => {
        scaledDefaults();
        assert.equal(stack.up().code, 0);
        assert.equal((await live()).active, "blue");
        const load = startLoad(`${url}/api/notes`, { threads: 1, connections: 10 });
        const d = cli("deploy", "v1.0.1");
        for (const until = Date.now() + 180_000; ; await sleep(200)) {
            const l = await live();
            if (l.active === "green" && l.traffic === 100) break;
            assert.ok(Date.now() < until, "green never reached 100 %");
        }
        await sleep(4000); // healthy at 100 %: nothing fires
        // The long watch holds no lock: the rota can act meanwhile (a bad input gets 2, not "busy", 3).
        const other = await cli("deploy", "latest").done;
        assert.equal(other.code, 2, other.stderr);
        const badAt = Date.now();
        drill("green", "user-errors", true);
        const r = await d.done;
        await load.stop();
        drill("green", "user-errors", false);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /watching green \(v1\.0\.1\) at 100 % for 60 s before the release is done/);
        assert.equal(r.json.trigger.trigger, "error-rate", r.stderr);
        const failed = r.json.steps.find((st: { ok: boolean }) => !st.ok);
        assert.equal(failed.label, "green (v1.0.1) gets 100 % of traffic");
        assert.ok(r.json.trigger.firstBadAt >= badAt - 1000, "the condition began with the errors");
        const detect = r.json.trigger.firedAt - r.json.trigger.firstBadAt;
        assert.ok(detect >= 10_000 && detect < 14_000, `detect ${detect} ms`);
        assert.equal(r.json.restored.ok, true, r.stderr);
        assert.deepEqual(await live(), { ...(await live()), active: "blue", traffic: 100 });
        assert.match(configText(), /noteshub:activeColor: "?blue"?/);
    });

    it("scaled defaults: a condition that began at the 10 % step fires across the steps after it", async () => {
        // Green answers users 20 % errors from the start; the gate's own probes (no X-Forwarded-For) pass. Each step
        // is watched 2 s, the trigger needs 10 s: only a count that goes on across steps can fire.
        drill("green", "user-errors", true);
        const load = startLoad(`${url}/api/notes`, { threads: 1, connections: 10 });
        const r = await cli("deploy", "v1.0.1").done;
        await load.stop();
        drill("green", "user-errors", false);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.json.trigger.trigger, "error-rate", r.stderr);
        const labels = r.json.steps.map((st: { label: string }) => st.label);
        const failedAt = r.json.steps.findIndex((st: { ok: boolean }) => !st.ok);
        // Not in the 10 % step (watched 2 s), and not only in the long watch at 100 %: in a step between.
        assert.ok(failedAt >= 0 && !/gets (10|100) % of traffic$/.test(labels[failedAt]), `fired in ${labels[failedAt]}`);
        assert.ok(r.json.trigger.firedAt - r.json.trigger.firstBadAt >= 10_000);
        assert.equal((await live()).active, "blue");
    });

    it("scaled defaults: a canary flooded with bad requests and slow uploads (the clients' doing) is not rolled back", async () => {
        // The canary is green at 10 %, paused and watched with every trigger armed. Requests carrying the preview
        // token go to it (the colour being promoted), so the clients below hit the canary, not the live colour.
        const token = "canary-flood-preview-token-0123456789abcdef";
        stack.must("config", "set", "--secret", "--path", "loadBalancer.previewToken", token);
        assert.equal(stack.up().code, 0);
        const canary = { "X-NotesHub-Preview": token };
        const note = await http(`${url}/api/notes`, { method: "POST", body: JSON.stringify({ title: "slow uploads" }) });
        assert.equal(note.status, 201);
        const seen = log().length;
        const d = cli("deploy", "v1.0.1", "--pause-at", "10", "--watch", "0");
        for (const until = Date.now() + 180_000; !log().slice(seen).some((e) => e.event === "paused"); await sleep(300)) {
            assert.ok(Date.now() < until, "the deploy paused at 10 % within 3 minutes");
        }
        assert.deepEqual([(await live()).active, (await live()).traffic], ["green", 10]);
        assert.equal((await http(`${url}/`, { headers: canary })).body.color, "green", "the token reaches the canary");
        let stop = false;
        // About 10 good requests a second to the canary, so each window has enough to judge...
        const fast = (async () => { while (!stop) { await http(`${url}/api/notes?limit=5`, { headers: canary }); await sleep(100); } })();
        // ... 12 clients uploading to it all along, each trickling its body over 6 s (a p95 above 5 s by the client's
        // clock, while green answers each in milliseconds once nginx has the body) ...
        const upload = () => new Promise<number>((resolve, reject) => {
            const req = request(`${url}/api/notes/${note.body._id}/file?name=slow.txt`, { method: "PUT", headers: { "content-length": "6000", ...canary } }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode!)); });
            req.on("error", reject);
            let sent = 0;
            const tick = setInterval(() => {
                req.write("x".repeat(1000));
                if (++sent === 6) { clearInterval(tick); req.end(); }
            }, 1000);
        });
        const until = Date.now() + 20_000;
        const uploader = async (k: number) => {
            const codes: number[] = [];
            await sleep(k * 500);
            while (Date.now() < until) codes.push(await upload());
            return codes;
        };
        // ... and, meanwhile, a flood of requests the app refuses (400): for longer than the triggers' 10 s.
        const flood = (async () => {
            await sleep(4000);
            const load = startLoad(`${url}/api/notes?limit=abc`, { threads: 1, connections: 10, headers: canary });
            await sleep(12_000);
            return load.stop();
        })();
        const codes = (await Promise.all(Array.from({ length: 12 }, (_, k) => uploader(k)))).flat();
        const flooded = await flood;
        stop = true;
        await fast;
        assert.ok(codes.length >= 24, `${codes.length} uploads`);
        assert.ok(codes.every((c) => c === 201), codes.join());
        assert.ok(flooded.requests > 1000, `the flood reached the canary: ${flooded.requests} requests`);
        assert.deepEqual(log().slice(seen).filter((e) => e.event === "trigger" || e.event === "restore").map((e) => e.event), [], "no trigger fired, nothing restored");
        assert.deepEqual([(await live()).active, (await live()).traffic], ["green", 10], "still paused at 10 %");
        const aborted = await cli("abort").done;
        assert.equal(aborted.code, 0, aborted.stderr);
        const r = await d.done;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.json.trigger ?? null, null, r.stderr);
        assert.equal(r.json.paused.ended, "abort by e2e@ci");
        assert.equal((await live()).active, "blue");
    });
});
