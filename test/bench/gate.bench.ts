// Issue #4 benchmark: time from a failing release's first bad answer to `pulumi up` failing, against the goal
// interval x failureThreshold + 1 s. The gate's error says when the failing answers began. Prints; asserts nothing.
import { stagingValues } from "../helpers/config";
import { freePort, purgeDockerLeftovers, TestStack } from "../helpers/stack";

const STACK = "bench-gate";
const RUNS = 3;

async function main() {
    purgeDockerLeftovers(STACK);
    const gate = { intervalMs: 1000, failureThreshold: 3 };
    const stack = new TestStack(STACK, stagingValues({ loadBalancer: { port: await freePort() }, healthGate: gate }));
    try {
        stack.init({ "database.password": "bench-password-0123" });
        const first = stack.up();
        if (first.code !== 0) throw new Error(first.stdout + first.stderr);
        const figures: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            // A fresh failing container each run (the value changes), then ask for traffic.
            stack.must("config", "set", "--path", 'app.envByVersion["v1.0.1"].NOTESHUB_FAIL_HEALTH', "1");
            stack.must("config", "set", "--path", 'app.envByVersion["v1.0.1"].RUN', String(i));
            stack.must("config", "set", "activeColor", "green");
            const r = stack.up();
            const ended = Date.now();
            stack.must("config", "set", "activeColor", "blue");
            const since = /\[failing since ([^\]]+)\]/.exec(r.stdout + r.stderr)?.[1];
            if (r.code === 0 || !since) throw new Error(`expected the gate to fail:\n${r.stdout}${r.stderr}`);
            figures.push(ended - Date.parse(since));
        }
        const goal = (gate.intervalMs * gate.failureThreshold) / 1000 + 1;
        console.log(`gate: first bad answer -> pulumi up failed: ${figures.map((f) => (f / 1000).toFixed(2)).join(" s, ")} s (goal <= ${goal.toFixed(1)} s: interval ${gate.intervalMs} ms x ${gate.failureThreshold} + 1 s)`);
    } finally {
        stack.dispose();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
