// Issue #7's figure: time from a bad release's first failing signal to all traffic back on the good colour
// (goal: the trigger's window + 10 s), under wrk load, for the two ways a trigger fires:
//   - deploy: a release answering users 20 % errors, caught while its 10 % step is watched (error-rate trigger);
//   - watch: the live colour's /health starts failing (health trigger, 3 failures 1 s apart).
// "Traffic back" is the moment the balancer's own state (GET /lb/status, polled every 50 ms) gives the bad colour 0 %.
// Prints; asserts nothing.
import { stagingValues } from "../helpers/config";
import { startLoad } from "../helpers/load";
import { docker, freePort, http, purgeDockerLeftovers, TestStack } from "../helpers/stack";

const STACK = "bench-rollback";
const FOR_SEC = 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Resolves with the time the balancer first gives `color` no share, polling from now. */
function whenOff(url: string, color: "blue" | "green", timeoutMs = 120_000): { at: Promise<number>; stop(): void } {
    let stopped = false;
    const at = (async () => {
        const until = Date.now() + timeoutMs;
        while (!stopped && Date.now() < until) {
            const st = (await http(`${url}/lb/status`).catch(() => undefined))?.body as { weights?: Record<string, number> } | undefined;
            if (st?.weights && st.weights[color] === 0) return Date.now();
            await new Promise((r) => setTimeout(r, 50));
        }
        return NaN;
    })();
    return { at, stop: () => (stopped = true) };
}

async function main() {
    purgeDockerLeftovers(STACK);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const stack = new TestStack(STACK, stagingValues({
        loadBalancer: { port },
        app: { repository: "noteshub-api", build: "examples/noteshub-api", env: { NOTESHUB_DRILL_DIR: "/tmp/noteshub-drill" }, envByVersion: { "v1.0.1": { NOTESHUB_USER_ERROR_RATE: "0.2" } } },
        monitoring: { windowSec: 5, minRequests: 5, stepSec: 60, watchSec: 60, triggers: { errorRate: { percent: 10, forSec: FOR_SEC }, health: { failures: 3, intervalSec: 1 } } },
    }));
    try {
        stack.init({ "database.password": "bench-password-0123" });
        const first = stack.up();
        if (first.code !== 0) throw new Error(first.stdout + first.stderr);

        // Deploy-time trigger: the error-rate one, at the 10 % step.
        const deploy: { detect: number; back: number; total: number; failed: number; requests: number }[] = [];
        for (let i = 0; i < 3; i++) {
            const load = startLoad(`${url}/api/notes`, { threads: 1, connections: 20 });
            // Green gets its share first (the 10 % step); "back" is the first moment after that it has none.
            let polling = true;
            const off = (async () => {
                let on = false;
                while (polling) {
                    const st = (await http(`${url}/lb/status`).catch(() => undefined))?.body as { weights?: Record<string, number> } | undefined;
                    if (st?.weights) {
                        if (st.weights.green > 0) on = true;
                        else if (on) return Date.now();
                    }
                    await new Promise((r) => setTimeout(r, 50));
                }
                return NaN;
            })();
            const r = await stack.noteshub("deploy", "v1.0.1").done;
            const lb = await Promise.race([off, new Promise<number>((res) => setTimeout(() => res(NaN), 5000))]);
            polling = false;
            const w = await load.stop();
            const t = r.json?.trigger;
            if (!t) throw new Error(`no trigger fired: ${r.stderr}`);
            deploy.push({ detect: t.firedAt - t.firstBadAt, back: lb - t.firedAt, total: lb - t.firstBadAt, failed: w.failed, requests: w.requests });
        }

        // Watch-time trigger: health failing on the live colour.
        stack.must("config", "rm", "--path", "app.envByVersion");
        const health: { total: number; afterThird: number }[] = [];
        for (let i = 0; i < 3; i++) {
            stack.must("config", "set", "activeColor", "green");
            if (stack.up().code !== 0) throw new Error("could not put green live");
            const load = startLoad(`${url}/`, { threads: 1, connections: 20 });
            const w = stack.noteshub("watch", "--for", "120");
            await new Promise((r) => setTimeout(r, 3000));
            const off = whenOff(url, "green");
            const failedAt = Date.now();
            docker("exec", `noteshub-${STACK}-green`, "sh", "-c", "mkdir -p /tmp/noteshub-drill && touch /tmp/noteshub-drill/fail-health");
            const lb = await off.at;
            w.child.kill("SIGINT");
            const r = await w.done;
            await load.stop();
            docker("exec", `noteshub-${STACK}-green`, "rm", "-f", "/tmp/noteshub-drill/fail-health");
            const t = r.json?.actions?.[0]?.trigger;
            health.push({ total: lb - failedAt, afterThird: t ? lb - t.firedAt : NaN });
        }

        console.log(`error-rate trigger during deploy (20 % errors at the 10 % step, for ${FOR_SEC} s, window 5 s), 3 runs:`);
        for (const d of deploy) console.log(`  first failing signal -> trigger ${s1(d.detect)}, trigger -> traffic back ${s1(d.back)}, total ${s1(d.total)}; failed ${d.failed} of ${d.requests}`);
        console.log(`  median total ${s1(median(deploy.map((d) => d.total)))} (goal: window ${FOR_SEC} s + 10 s = ${FOR_SEC + 10} s)`);
        console.log(`health trigger during watch (3 failures, 1 s apart), 3 runs:`);
        for (const h of health) console.log(`  health starts failing -> traffic back ${s1(h.total)} (trigger -> traffic back ${s1(h.afterThird)})`);
        console.log(`  median ${s1(median(health.map((h) => h.total)))} (goal: 3 probes + 10 s = 13 s)`);
    } finally {
        stack.dispose();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
