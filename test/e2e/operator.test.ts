// The operator's moves (issue #17) end to end on a staging-shaped stack, through the real CLI, pulumi, Docker and nginx:
// - maintenance on/off under outside load: every user request gets 503 with Retry-After and the message once it is
//   on (a page for a browser), on the same kept-alive connection, nginx never reloaded; a deploy runs behind it;
//   off serves the declared colour again; both are recorded in pulumi stack history and the deployment log;
// - preview: loadBalancer.previewToken lets a request carrying it reach the idle colour, and nobody else;
// - deploy --pause-at: stops after that step, paused and watched; status shows it; promote runs the rest, abort sends
//   traffic back, and the paused deploy's watch ends when they start; 0 failed requests from outside throughout;
// - hooks: commands get the facts on stdin, URLs get them POSTed, before and after deploy and rollback; a failing
//   pre-deploy hook stops the deploy with its output and nothing changed;
// - lock --reason: deploys (and the drill) are refused with who, since when and why; a rollback still runs; status
//   shows it; unlock lets deploys go on.
// - retire: the idle colour's app container stopped (kept with its logs, its image on the host), shown by status;
//   stopping a colour in the same up that takes its traffic away is refused before anything changes; a rollback to
//   the retired colour starts it again (and says it takes longer); watch retires on time with retireAfterHours;
//   0 failed requests from outside throughout.
// Bad input for each exits 2 and leaves the stack config as it was.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { readLog } from "../../cli/log";
import { heyDuring, startHey } from "../helpers/load";
import { docker, http, noteshubOn, pulumiFailure, TestStack, startTestStack } from "../helpers/stack";

const STACK = "e2e-ops";
const TOKEN = "qa-e2e-preview-0123456789abcdef0123456789";

interface Answer { at: number; status: number; port: number; retryAfter?: string; body: string }

/** GETs on one kept-alive connection every `everyMs` until stop(): each answer with the socket it came on. */
function poll(url: string, everyMs: number): { stop(): Promise<{ answers: Answer[]; errors: string[] }> } {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answers: Answer[] = [];
    const errors: string[] = [];
    let running = true;
    const loop = (async () => {
        while (running) {
            const at = Date.now();
            await new Promise<void>((resolve) => {
                const req = request(`${url}/api/notes`, { agent }, (res) => {
                    let body = "";
                    res.on("data", (d) => (body += d));
                    res.on("end", () => {
                        answers.push({ at, status: res.statusCode!, port: req.socket!.localPort!, retryAfter: res.headers["retry-after"] as string | undefined, body });
                        resolve();
                    });
                });
                req.on("error", (err) => {
                    errors.push(`${new Date(at).toISOString()} ${err.message}`);
                    resolve();
                });
                req.end();
            });
            await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - at))));
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            agent.destroy();
            return { answers, errors };
        },
    };
}

describe("the operator's moves: maintenance and the deploy lock (real CLI, pulumi, Docker, nginx)", { timeout: 15 * 60_000 }, () => {
    let stack: TestStack;
    let url = "";
    const { cli, must } = noteshubOn(() => stack);
    const configText = () => readFileSync(stack.configFile, "utf8");
    /** The nginx instances serving the stack, each with its worker processes: a reload would start new workers. */
    const instances = () => docker("ps", "-q", "--no-trunc", "--filter", `label=io.noteshub.handover=noteshub-${STACK}-lb`).split("\n").filter(Boolean).sort()
        .map((id) => `${id} ${docker("top", id, "-eo", "pid,args").split("\n").filter((l) => /nginx: worker process/.test(l)).map((l) => l.trim().split(/\s+/)[0]).sort().join(",")}`);

    before(async () => {
        ({ stack, url } = await startTestStack(STACK, { monitoring: { stepSec: 1, watchSec: 1 } }));
    });
    /** Paused deploys still watching (a failed test leaves them): stopped before the stack goes. */
    const watching: ChildProcess[] = [];
    after(() => {
        for (const c of watching) if (c.exitCode === null) c.kill("SIGKILL");
        stack?.dispose();
    });

    it("maintenance: bad input exits 2 and changes nothing", async () => {
        const before = configText();
        for (const [args, why] of [
            [["maintenance"], /maintenance takes on or off/],
            [["maintenance", "sideways"], /maintenance takes on or off/],
            [["maintenance", "on"], /maintenance on needs the message users will read: noteshub maintenance on --message "Back at 03:30 UTC" --stack e2e-ops/],
            [["maintenance", "on", "--message", "x", "--retry-after", "0"], /--retry-after must be whole seconds, 1-86400 \(what Retry-After tells clients\), got 0/],
            [["maintenance", "on", "--message", "x".repeat(501)], /--message must be at most 500 characters, got 501/],
            [["maintenance", "off", "--message", "x"], /maintenance off takes no --message or --retry-after/],
        ] as [string[], RegExp][]) {
            const r = await cli(...args);
            assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr, why);
            assert.match(r.stderr, /Nothing was changed\./);
        }
        const off = await must("maintenance", "off");
        assert.match(off.stderr, /maintenance is already off; nothing to do/);
        assert.equal(configText(), before);
    });

    it("preview: with loadBalancer.previewToken, a request carrying it reaches the idle colour; no other request does", async () => {
        stack.must("config", "set", "--secret", "--path", "loadBalancer.previewToken", TOKEN);
        const r = stack.up();
        assert.equal(r.code, 0, pulumiFailure("pulumi up", r));
        assert.doesNotMatch(configText(), new RegExp(TOKEN), "kept as a secret");
        const shown = (await http(`${url}/lb/status`)).body;
        assert.equal(shown.preview, true, "status says a token is set, and shows neither it nor its digest");
        const users = await Promise.all(Array.from({ length: 100 }, () => http(`${url}/`)));
        assert.deepEqual([...new Set(users.map((u) => u.body.color))], ["blue"], "no user lands on the idle colour");
        const qa = await http(`${url}/`, { headers: { "x-noteshub-preview": TOKEN } });
        assert.deepEqual([qa.body.color, qa.body.version, qa.headers.get("x-noteshub-color")], ["green", "v1.0.1", "green"]);
        assert.equal((await http(`${url}/`, { headers: { cookie: `noteshub_preview=${TOKEN}` } })).body.color, "green");
        assert.equal((await http(`${url}/`, { headers: { "x-noteshub-preview": `blue:${TOKEN}` } })).body.color, "blue");
        assert.equal((await http(`${url}/`, { headers: { "x-noteshub-preview": "wrong-token-0123456789" } })).body.color, "blue");
    });

    it("maintenance on under load: 503 with the message on the same connection, a deploy behind it, off serves the new colour; no reload", async () => {
        const message = 'Database upgrade: back at 03:30 UTC <status page> & "soon"';
        const hey = startHey(url);
        const poller = poll(url, 200);
        const nginxBefore = instances();
        let onStart = 0, onAt = 0, offStart = 0, offAt = 0;
        let polled: Awaited<ReturnType<ReturnType<typeof poll>["stop"]>>;
        let outside: Awaited<ReturnType<ReturnType<typeof startHey>["stop"]>>;
        try {
            await new Promise((r) => setTimeout(r, 1500));
            onStart = Date.now();
            const on = await must("maintenance", "on", "--message", message, "--retry-after", "120");
            onAt = Date.now();
            assert.match(on.stderr, /the balancer answers 503 with ".*" \(Retry-After 120 s\) to every user request; recording it with pulumi up/);
            assert.equal(on.json.changed, true);
            const api = await http(`${url}/api/notes`);
            assert.deepEqual([api.status, api.headers.get("retry-after"), api.body], [503, "120", { error: "maintenance", message, retryAfterSec: 120 }]);
            const page = await http(`${url}/`, { headers: { accept: "text/html" } });
            assert.equal(page.status, 503);
            assert.match(page.body, /<p>Database upgrade: back at 03:30 UTC &lt;status page&gt; &amp; &quot;soon&quot;<\/p>/);
            const s = (await must("status")).json;
            assert.deepEqual([s.maintenance, s.balancerMatchesDeclared], [{ message, retryAfterSec: 120 }, true]);
            // QA behind it: the preview token still reaches the idle colour.
            const qa = await http(`${url}/`, { headers: { "x-noteshub-preview": TOKEN } });
            assert.deepEqual([qa.status, qa.body.color], [200, "green"]);
            // A deploy behind it: green (v1.0.1) gets all traffic; the gates probe the colours themselves, not through nginx.
            const d = await must("deploy", "v1.0.1", "--steps", "100", "--watch", "0");
            assert.equal(d.json.ok, true);
            assert.equal((await http(`${url}/api/notes`)).status, 503, "still in maintenance after the deploy's ups");
            offStart = Date.now();
            const off = await must("maintenance", "off");
            offAt = Date.now();
            assert.match(off.stderr, /the balancer serves traffic as declared again; recording it with pulumi up/);
            const back = await http(`${url}/`);
            assert.deepEqual([back.status, back.body.version, back.body.color], [200, "v1.0.1", "green"]);
            await new Promise((r) => setTimeout(r, 1500));
        } finally {
            polled = await poller.stop();
            outside = await hey.stop();
        }
        console.log(`# maintenance on/off with a deploy behind it: hey ${JSON.stringify(outside.statuses)}, ${outside.errors} transport errors of ${outside.requests}; poller ${polled.answers.length} answers on ${new Set(polled.answers.map((a) => a.port)).size} connection(s)`);
        assert.equal(outside.errors, 0, outside.raw);
        assert.deepEqual(Object.keys(outside.statuses).sort(), ["200", "503"], outside.raw);
        assert.deepEqual(polled.errors, []);
        assert.equal(new Set(polled.answers.map((a) => a.port)).size, 1, "one kept-alive connection the whole time: nginx never closed it");
        const during = polled.answers.filter((a) => a.at > onAt && a.at < offStart);
        assert.ok(during.length > 20, `polled during maintenance: ${during.length}`);
        for (const a of during) assert.deepEqual([a.status, a.retryAfter, JSON.parse(a.body).message], [503, "120", message]);
        const afterOff = polled.answers.filter((a) => a.at > offAt);
        assert.ok(afterOff.length > 3 && afterOff.every((a) => a.status === 200), JSON.stringify(afterOff.slice(0, 3)));
        const beforeOn = polled.answers.filter((a) => a.at < onStart);
        assert.ok(beforeOn.length > 3 && beforeOn.every((a) => a.status === 200), JSON.stringify(beforeOn.filter((a) => a.status !== 200).slice(0, 3)));
        assert.deepEqual(instances(), nginxBefore, "the same nginx instance and workers: nothing was reloaded");
        // Recorded: pulumi stack history and the deployment log.
        const rows = (await must("history")).json as { message: string; result: string }[];
        assert.ok(rows.some((r) => r.message === `noteshub maintenance on: "${message}" (Retry-After 120 s)` && r.result === "succeeded"), rows.map((r) => r.message).join("\n"));
        assert.ok(rows.some((r) => r.message === "noteshub maintenance off" && r.result === "succeeded"));
        const log = readLog(stack.logFile).filter((e) => e.command.startsWith("maintenance"));
        assert.deepEqual(log.map((e) => [e.event, e.ok]), [["command-started", true], ["command-finished", true], ["command-started", true], ["command-finished", true]]);
        assert.doesNotMatch(configText(), /maintenance/);
    });

    it("lock --reason: deploys and the drill refused with who and why, a rollback still runs; unlock lets deploys go on", async () => {
        const before = configText();
        const noReason = await cli("lock");
        assert.equal(noReason.code, 2);
        assert.match(noReason.stderr, /lock needs a reason the rota will read/);
        assert.equal((await cli("unlock")).code, 2, "not locked");
        await must("lock", "--reason", "incident 42: disk full on the database host");
        const again = await cli("lock", "--reason", "another");
        assert.equal(again.code, 2);
        assert.match(again.stderr, /already locked for deploys by e2e@ci since .*: "incident 42: disk full on the database host"/);
        const deploy = await cli("deploy", "v1.0.0");
        assert.equal(deploy.code, 3, deploy.stderr);
        assert.match(deploy.stderr, /deploy v1\.0\.0 refused: stack e2e-ops is locked for deploys by e2e@ci since \d{4}-\d\d-\d\dT[\d:.]+Z: "incident 42: disk full on the database host"\. Rollbacks still run\. Nothing was changed\. When deploys may go on: npm run noteshub -- unlock --stack e2e-ops/);
        assert.equal((await cli("drill")).code, 3);
        assert.equal(configText(), before, "refused: nothing changed");
        const s = (await must("status")).json;
        assert.deepEqual([s.deployLock.who, s.deployLock.reason], ["e2e@ci", "incident 42: disk full on the database host"]);
        // Rollbacks are how an incident ends: never locked.
        await must("rollback");
        assert.equal((await http(`${url}/`)).body.color, "blue");
        const unlock = await must("unlock");
        assert.match(unlock.stderr, /deploys may go on again \(it was locked by e2e@ci since .*: "incident 42: disk full on the database host"\)/);
        assert.equal((await must("status")).json.deployLock, null);
        const log = readLog(stack.logFile).filter((e) => e.event === "locked" || e.event === "unlocked");
        assert.deepEqual(log.map((e) => [e.event, e.who, e.why]), [["locked", "e2e@ci", "incident 42: disk full on the database host"], ["unlocked", "e2e@ci", "operator command: noteshub unlock"]]);
    });

    it("deploy --pause-at 25: paused and watched; promote goes on to 100 %, abort sends traffic back; 0 failed throughout", async () => {
        const before = configText();
        for (const [args, why] of [
            [["deploy", "v1.0.1", "--pause-at", "100"], /--pause-at must be one of the traffic steps before 100 % \(10, 25, 50\), got 100/],
            [["deploy", "v1.0.1", "--steps", "25,100", "--pause-at", "10"], /--pause-at must be one of the traffic steps before 100 % \(25\), got 10/],
            [["promote"], /no paused deploy on stack e2e-ops to promote \(the stack declares blue at 100 %\)/],
            [["abort"], /no paused deploy on stack e2e-ops to abort .*; to roll back anyway: noteshub rollback/],
        ] as [string[], RegExp][]) {
            const r = await cli(...args);
            assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr, why);
        }
        assert.equal(configText(), before);
        /** Starts a deploy that pauses, and waits until the log says it paused; `done` is the deploy's end (it watches on). */
        const pausedDeploy = async (version: string) => {
            const seen = readLog(stack.logFile).length;
            const started = stack.noteshub("deploy", version, "--steps", "25,100", "--pause-at", "25", "--watch", "0");
            watching.push(started.child);
            if (process.env.NOTESHUB_DEBUG) started.child.stderr!.on("data", (d) => process.stderr.write(`[paused deploy] ${d}`));
            const run = started.done;
            const until = Date.now() + 120_000;
            while (!readLog(stack.logFile).slice(seen).some((e) => e.event === "paused")) {
                assert.ok(Date.now() < until, "the deploy paused within 2 minutes");
                await new Promise((r) => setTimeout(r, 300));
            }
            return { done: run };
        };
        await heyDuring(url, "deploy --pause-at 25, promote; deploy --pause-at 25, abort", async () => {
            const first = (await pausedDeploy("v1.0.1")).done;
            const s = (await must("status")).json;
            assert.deepEqual([s.paused.version, s.paused.color, s.paused.at, s.paused.remaining, s.paused.who, s.traffic], ["v1.0.1", "green", 25, [100], "e2e@ci", { blue: 75, green: 25 }]);
            const promoted = await must("promote");
            assert.deepEqual(promoted.json.steps.map((x: { label: string }) => x.label), ["green (v1.0.1) gets 100 % of traffic"]);
            const d = await first;
            assert.equal(d.code, 0, d.stderr);
            assert.deepEqual([d.json.paused.at, d.json.paused.ended], [25, "promote by e2e@ci"]);
            assert.deepEqual([(await http(`${url}/`)).body.color, (await must("status")).json.paused], ["green", null]);
            assert.equal((await cli("promote")).code, 2, "nothing paused any more");

            const second = (await pausedDeploy("v1.0.0")).done;
            assert.deepEqual((await must("status")).json.traffic, { blue: 25, green: 75 });
            const aborted = await must("abort");
            assert.deepEqual(aborted.json.steps.map((x: { label: string }) => x.label), ["all traffic back to green (v1.0.1)"]);
            const d2 = await second;
            assert.equal(d2.code, 0, d2.stderr);
            assert.equal(d2.json.paused.ended, "abort by e2e@ci");
        });
        const users = await Promise.all(Array.from({ length: 20 }, () => http(`${url}/`)));
        assert.deepEqual([...new Set(users.map((u) => u.body.color))], ["green"], "aborted: all traffic back on green");
        const paused = readLog(stack.logFile).filter((e) => e.event === "paused");
        assert.deepEqual(paused.map((e) => e.what), ["paused at 25 %: green (v1.0.1); left: 100 %", "paused at 25 %: blue (v1.0.0); left: 100 %"]);
    });

    it("hooks: the facts on stdin or POSTed, before and after deploy and rollback; a failing pre-deploy hook stops the deploy, nothing changed", async () => {
        const dir = mkdtempSync(join(tmpdir(), "noteshub-hooks-"));
        const posted: any[] = [];
        const hook = createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d)).on("end", () => {
                posted.push(JSON.parse(body));
                res.writeHead(204).end();
            });
        });
        await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
        try {
            const set = (path: string, value: string) => stack.must("config", "set", "--path", path, value);
            set("hooks.preDeploy[0]", `cat > ${dir}/pre-deploy.json`);
            set("hooks.postDeploy[0]", `cat > ${dir}/post-deploy.json`);
            set("hooks.preRollback[0]", `echo "$NOTESHUB_EVENT on $NOTESHUB_STACK" > ${dir}/pre-rollback.env; cat > ${dir}/pre-rollback.json`);
            set("hooks.postRollback[0]", `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`);
            const json = (name: string) => JSON.parse(readFileSync(join(dir, name), "utf8"));
            await must("deploy", "v1.0.0", "--steps", "100", "--watch", "0");
            const pre = json("pre-deploy.json");
            assert.deepEqual([pre.event, pre.stack, pre.command, pre.version, pre.from, pre.to, pre.steps], ["pre-deploy", STACK, "deploy v1.0.0", "v1.0.0", { color: "green", version: "v1.0.1" }, { color: "blue", version: "v1.0.0" }, [100]]);
            assert.deepEqual([json("post-deploy.json").event, json("post-deploy.json").ok], ["post-deploy", true]);
            await must("rollback");
            assert.equal(readFileSync(join(dir, "pre-rollback.env"), "utf8"), `pre-rollback on ${STACK}\n`);
            assert.deepEqual([json("pre-rollback.json").kind, json("pre-rollback.json").from, json("pre-rollback.json").to], ["immediate", { color: "blue", version: "v1.0.0", traffic: 100 }, { color: "green", version: "v1.0.1" }]);
            assert.deepEqual(posted.map((p) => [p.event, p.kind, p.ok]), [["post-rollback", "immediate", true]]);
            // A change freeze as a hook: the deploy does not start.
            set("hooks.preDeploy[1]", `echo "change freeze until Monday (ticket OPS-7)" >&2; exit 1`);
            const before = configText();
            const frozen = await cli("deploy", "v1.0.0", "--steps", "100", "--watch", "0");
            assert.equal(frozen.code, 1, frozen.stderr);
            assert.match(frozen.stderr, /pre-deploy hook echo "change freeze until Monday \(ticket OPS-7\)" >&2; exit 1 failed, so nothing was changed:\nchange freeze until Monday \(ticket OPS-7\)\n\(exited 1\)/);
            assert.equal(configText(), before);
            assert.equal((await http(`${url}/`)).body.color, "green", "traffic where it was");
            const hooks = readLog(stack.logFile).filter((e) => e.event === "hook");
            assert.deepEqual(hooks.slice(-2).map((e) => [e.what.split(" hook ")[0], e.ok]), [["pre-deploy", true], ["pre-deploy", false]]);
        } finally {
            stack.pulumi("config", "rm", "hooks");
            hook.close();
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("retire: the idle colour stopped and kept; a rollback starts it again; watch retires on time; 0 failed throughout", async () => {
        const inspect = (name: string) => JSON.parse(docker("inspect", name))[0];
        const before = configText();
        const bad = await cli("retire", "now");
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /retire takes no arguments \(it stops the idle colour\), got now/);
        assert.equal(configText(), before);
        // A deploy watching its release at 100 % has let go of the stack lock, but may still roll back to the idle
        // colour: retire waits for it to finish (here a deploy another clone began, as the shared log shows it).
        const entry = (event: string) => JSON.stringify({ time: new Date().toISOString(), stack: STACK, who: "ci@other", command: "deploy v9.9.9", event, what: "deploy v9.9.9", why: "test", ok: true }) + "\n";
        appendFileSync(stack.logFile, entry("command-started"));
        const waiting = await cli("retire");
        assert.equal(waiting.code, 2, waiting.stderr);
        assert.match(waiting.stderr, /retire refused: "deploy v9\.9\.9" \(ci@other, since \S+\) has not finished; it may still roll back to (blue|green)/);
        assert.equal(configText(), before);
        appendFileSync(stack.logFile, entry("command-finished"));
        const s0 = (await must("status")).json;
        const live: string = s0.activeColor;
        const idle = live === "blue" ? "green" : "blue";
        const app = (c: string) => `noteshub-${STACK}-${c}`;

        // Stopping the live colour in the same up that moves its traffic away: refused at the engine before anything
        // changes (the config alone is valid: by the time traffic moved, the colour would have no share).
        stack.must("config", "set", "activeColor", idle);
        stack.must("config", "set", "retired", live);
        const both = stack.up();
        assert.notEqual(both.code, 0);
        assert.match(pulumiFailure("pulumi up", both), new RegExp(`container ${app(live)}: colour ${live} has 100 % of traffic, so stopping it \\(retired\\) would drop requests`));
        assert.equal((await http(`${url}/`)).body.color, live, "traffic did not move");
        assert.equal(inspect(app(live)).State.Running, true);
        stack.must("config", "set", "activeColor", live);
        stack.must("config", "rm", "retired");
        assert.equal(configText(), before);

        const image = inspect(app(idle)).Image;
        await heyDuring(url, `retire ${idle}, then rollback to it`, async () => {
            const r = await must("retire");
            assert.match(r.stderr, new RegExp(`${idle} \\(v[\\d.]+\\) is stopped; its logs: docker logs ${app(idle)}`));
            const c = inspect(app(idle));
            assert.equal(c.State.Running, false, "stopped");
            assert.equal(c.Image, image, "the same container, kept");
            assert.ok(docker("image", "inspect", "-f", "{{.Id}}", image), "its image stays on the host");
            assert.equal(inspect(`${app(idle)}-addr`).State.Running, true, "its address holder keeps the colour's address");
            const s = (await must("status")).json;
            assert.deepEqual([s.retired.color, typeof s.retired.since, s.colours[idle].retired, s.colours[idle].reason], [idle, "string", true, "retired"]);
            assert.match((await cli("retire")).stderr, /is already retired; nothing to do/);
            const back = await must("rollback");
            assert.match(back.stderr, new RegExp(`${idle} \\(v[\\d.]+\\) was retired at \\S+ \\(stopped\\): it starts again and passes its whole health gate before traffic moves, so this rollback takes longer`));
            console.log(`# rollback to a retired colour: ${back.json.seconds.toFixed(1)} s`);
            assert.equal(inspect(app(idle)).Id, c.Id, "started again, not made anew");
            assert.equal(inspect(app(idle)).State.Running, true);
            assert.equal((await http(`${url}/`)).body.color, idle);
            assert.equal((await must("status")).json.retired, null);
        });

        // watch retires the now-idle colour once retireAfterHours (here 2 s) passed since the colours last moved.
        stack.must("config", "set", "retireAfterHours", String(2 / 3600));
        try {
            const w = await must("watch", "--for", "40");
            assert.equal(inspect(app(live)).State.Running, false, w.stderr);
            const retired = readLog(stack.logFile).filter((e) => e.event === "retired");
            assert.deepEqual(retired.map((e) => [e.figures?.color, e.command.split(" ")[0]]), [[idle, "retire"], [live, "watch"]]);
            assert.equal((await must("status")).json.retired.color, live);
        } finally {
            stack.must("config", "rm", "retireAfterHours");
        }
        await heyDuring(url, "rollback --retire to the retired colour, then rollback", async () => {
            // The retired colour gets the traffic back, then the colour rolled back from is stopped (runbook step 3).
            const r = await must("rollback", "--retire");
            assert.deepEqual([inspect(app(live)).State.Running, inspect(app(idle)).State.Running], [true, false], r.stderr);
            assert.equal((await http(`${url}/`)).body.color, live);
            assert.equal((await must("status")).json.retired.color, idle);
            // Left as the next test would find a stack: both colours running.
            await must("rollback");
            assert.equal(inspect(app(idle)).State.Running, true);
        });
    });
});
