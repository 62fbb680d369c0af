// Figures for moving traffic (issue #6), on one warm staging-shaped stack, printed side by side (asserts nothing):
// 1. failed requests under keep-alive load (wrk -t2 -c50) during 10 colour switches + one gradual shift:
//    ours (`pulumi up`, traffic state swapped, no reload) vs a plain-reload baseline (a second nginx from the same
//    image on the same network, switching by rewriting proxy_pass and `nginx -s reload`, as often);
// 2. throughput of our balancer vs a plain nginx proxy_pass to the same app (wrk -t2 -c50 -d10s each);
// 3. immediate rollback wall time (`noteshub rollback`, command start to every request on the other colour) next to
//    the raw time of the balancer's own switch (the state swap alone);
// 4. failed requests while the idle colour gets a new version under the same load (its address stays: no reload).
import { spawn } from "node:child_process";
import { join } from "node:path";
import * as traffic from "../../infra/providers/trafficState";
import { renderState } from "../../infra/render/nginx";
import { stagingValues } from "../helpers/config";
import { runLoad, startLoad, type LoadResult } from "../helpers/load";
import { docker, freePort, http, purgeDockerLeftovers, ROOT, TestStack } from "../helpers/stack";

const STACK = "bench-traffic";
const PREFIX = `noteshub-${STACK}`;
const local = { host: "unix:///var/run/docker.sock" };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const line = (r: LoadResult) => `${r.failed} failed of ${r.requests} (${JSON.stringify(r.socketErrors)}, non-2xx ${r.non2xx}), ${r.rps} req/s`;

/** A plain nginx (our image, no njs) on the stack network: proxy_pass to one colour, switched by reload. */
function plainConfig(color: string): string {
    return [
        `upstream plain_blue { server ${PREFIX}-blue-addr:8000; keepalive 32; }`,
        `upstream plain_green { server ${PREFIX}-green-addr:8000; keepalive 32; }`,
        `server {`,
        `    listen 8080;`,
        `    location / {`,
        `        proxy_pass http://plain_${color};`,
        `        proxy_http_version 1.1;`,
        `        proxy_set_header Connection "";`,
        `    }`,
        `}`,
        "",
    ].join("\n");
}

function writePlain(id: string, color: string): void {
    docker("exec", id, "bash", "-c", `cat > /etc/nginx/noteshub/routes.conf <<'EOF'\n${plainConfig(color)}EOF\nnginx -s reload 2>/dev/null`);
}

async function cliRollback(stack: TestStack, url: string, from: string): Promise<{ wallMs: number; switchedMs: number }> {
    const start = Date.now();
    let switchedMs = -1;
    let done = false;
    const poll = (async () => {
        while (!done) {
            const c = (await http(`${url}/`).catch(() => undefined))?.body?.color;
            if (c && c !== from && switchedMs < 0) switchedMs = Date.now() - start;
            await sleep(50);
        }
    })();
    await new Promise<void>((resolve, reject) => {
        const child = spawn("node", ["--import", "tsx", join(ROOT, "cli/main.ts"), "rollback", "--stack", STACK], { cwd: ROOT, env: { ...stack.env, NOTESHUB_LOCK_DIR: join(stack.stateDir, "locks") }, stdio: "ignore" });
        child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`noteshub rollback exited ${code}`))));
    });
    const wallMs = Date.now() - start;
    done = true;
    await poll;
    return { wallMs, switchedMs };
}

async function main() {
    purgeDockerLeftovers(STACK);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const stack = new TestStack(STACK, stagingValues({ loadBalancer: { port } }));
    try {
        stack.init({ "database.password": "bench-password-0123" });
        const first = stack.up();
        if (first.code !== 0) throw new Error(first.stdout + first.stderr);
        const plainPort = await freePort();
        const lbImage = docker("inspect", "-f", "{{.Config.Image}}", docker("ps", "-q", "--filter", `label=io.noteshub.handover=${PREFIX}-lb`).split("\n")[0]);
        const plain = docker("run", "-d", "--name", `${PREFIX}-plain`, "--label", `io.noteshub.stack=${STACK}`, "--network", `${PREFIX}-net`,
            "-p", `127.0.0.1:${plainPort}:8080`, lbImage);
        await sleep(500);
        writePlain(plain, "blue");
        const plainUrl = `http://127.0.0.1:${plainPort}`;

        // 1. Switches under load.
        const colours = ["green", "blue", "green", "blue", "green", "blue", "green", "blue", "green", "blue"];
        const oursLoad = startLoad(`${url}/`);
        const switchMs: number[] = [];
        for (const c of colours) {
            stack.must("config", "set", "activeColor", c);
            const r = stack.up();
            if (r.code !== 0) throw new Error(r.stdout + r.stderr);
            switchMs.push(r.ms);
        }
        for (const t of [10, 25, 50, 100]) {
            stack.must("config", "set", "activeColor", "green");
            stack.must("config", "set", "traffic", String(t));
            if (stack.up().code !== 0) throw new Error(`shift step ${t}`);
        }
        const ours = await oursLoad.stop();
        const baseLoad = startLoad(`${plainUrl}/`);
        for (const c of [...colours, "green", "green", "green", "green"]) {
            writePlain(plain, c);
            await sleep(2000);
        }
        const baseline = await baseLoad.stop();
        console.log(`switching under keep-alive load (wrk -t2 -c50), 10 switches + a 4-step shift:`);
        console.log(`  ours (pulumi up, state swap, no reload): ${line(ours)}`);
        console.log(`  plain reload baseline (nginx -s reload):  ${line(baseline)}`);
        console.log(`  pulumi up per colour switch (median of 10, under load): ${median(switchMs)} ms`);

        // 2. Throughput, all traffic on one colour, each alone on the machine.
        writePlain(plain, "green");
        await runLoad(`${url}/`, 3);
        const oursTp = await runLoad(`${url}/`, 10);
        await runLoad(`${plainUrl}/`, 3);
        const plainTp = await runLoad(`${plainUrl}/`, 10);
        console.log(`throughput (wrk -t2 -c50 -d10s, GET / on the app):`);
        console.log(`  ours: ${oursTp.rps} req/s (failed ${oursTp.failed}); plain proxy_pass: ${plainTp.rps} req/s (failed ${plainTp.failed}); ratio ${(oursTp.rps / plainTp.rps).toFixed(2)}`);

        // 3. Immediate rollback, and the balancer's own switch.
        const rollbacks: { wallMs: number; switchedMs: number }[] = [];
        let from = "green";
        for (let i = 0; i < 3; i++) {
            rollbacks.push(await cliRollback(stack, url, from));
            from = from === "green" ? "blue" : "green";
        }
        const lbId = docker("inspect", "-f", "{{.Id}}", `${PREFIX}-lb`);
        const raw: number[] = [];
        const state = (active: "blue" | "green") => renderState({ stack: PREFIX, active, traffic: 100, versions: { blue: "v1.0.0", green: "v1.0.1" } });
        const base = { docker: local, containerId: lbId, weights: {} };
        for (let i = 0; i < 5; i++) {
            const t0 = Date.now();
            await traffic.provider.update("id", { ...base, state: state(i % 2 ? "blue" : "green") }, { ...base, state: state(i % 2 ? "green" : "blue") });
            raw.push(Date.now() - t0);
        }
        console.log(`immediate rollback (noteshub rollback, warm stack), 3 runs:`);
        console.log(`  command wall time: median ${median(rollbacks.map((r) => r.wallMs))} ms [${rollbacks.map((r) => r.wallMs).join(", ")}]`);
        console.log(`  command start -> first request on the other colour: median ${median(rollbacks.map((r) => r.switchedMs))} ms [${rollbacks.map((r) => r.switchedMs).join(", ")}]`);
        console.log(`  the balancer's own switch (state write + swap, docker exec): median ${median(raw)} ms [${raw.join(", ")}]`);
        // Leave the stack as declared (the raw switches bypassed pulumi).
        stack.up();

        // 4. A new version on the idle colour under load: the app container is replaced, its address is kept.
        const idle = (await http(`${url}/`)).body.color === "blue" ? "green" : "blue";
        const during = startLoad(`${url}/`);
        await sleep(1000);
        stack.must("config", "set", `${idle}Version`, "v0.9.0");
        const v = stack.up();
        await sleep(1000);
        const versionLoad = await during.stop();
        console.log(`a version change on the idle colour (${idle} -> v0.9.0, app container replaced, address and routes kept) under the same load:`);
        console.log(`  ${line(versionLoad)}; pulumi up ${v.ms} ms (exit ${v.code})`);
    } finally {
        stack.dispose();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
