// Failed requests on every path a user takes (issue #12), in one run, next to the total sent. hey (200 requests/s on
// 10 keep-alive connections, the issue's load) runs from a second before each path's first step to a second after
// its last; the stack is never converged first. Asserts nothing: it prints figures.
// The balancer upgrade is measured side by side with what it replaced, in alternated rounds of equal windows:
//   ours   - a new nginx instance beside the old one, which drains and quits (what `pulumi up` does now);
//   reload - a plain `nginx -s reload` in the running instance (the usual way to change nginx);
//   outage - the instance stopped and started again (the old design: the balancer container replaced, delete first).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startHey, type HeyResult } from "../helpers/load";
import { docker, programCopy, ROOT, startTestStack, type TestStack } from "../helpers/stack";

const STACK = "bench-live";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rows: [string, string][] = [];
const row = (what: string, r: HeyResult, extra = "") => {
    rows.push([what, `${r.failed} failed of ${r.requests}${r.errors ? ` (${r.errors} without an answer)` : ""}${extra}`]);
    console.log(`  ${what}: ${rows.at(-1)![1]}`);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measured(url: string, steps: () => Promise<unknown>, windowMs = 0): Promise<HeyResult> {
    const load = startHey(`${url}/api/notes`);
    const start = Date.now();
    try {
        await sleep(1000);
        await steps();
        await sleep(Math.max(1000, windowMs - (Date.now() - start)));
    } catch (err) {
        await load.stop();
        throw err;
    }
    return load.stop();
}

async function cli(stack: TestStack, root: string, ...args: string[]): Promise<void> {
    const r = await stack.noteshubIn(root, ...args).done;
    if (r.code !== 0) throw new Error(`noteshub ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
}

function up(stack: TestStack, root = ROOT): void {
    const r = stack.pulumiIn(root, "up", "--yes", "--skip-preview", "--policy-pack", join(ROOT, "policy"));
    if (r.code !== 0) throw new Error(r.stdout + r.stderr);
}

const instanceOf = (stack: string) => docker("ps", "-q", "--filter", `label=io.noteshub.handover=noteshub-${stack}-lb`).split("\n")[0];

async function main() {
    const { stack, url } = await startTestStack(STACK, { monitoring: { stepSec: 1, watchSec: 1 }, app: { repository: "noteshub-api", build: "examples/noteshub-api", env: { NOTESHUB_TEST_DELAYS: "1" } } });
    const copies: string[] = [];
    try {
        console.log("failed requests, hey -q 20 -c 10 (200 requests/s, keep-alive) from before the first step to after the last:");
        row("deploy v1.1.0 (default steps), live colour on previous", await measured(url, () => cli(stack, ROOT, "deploy", "v1.1.0")));
        row("deploy v1.2.0 (default steps), live colour on current", await measured(url, () => cli(stack, ROOT, "deploy", "v1.2.0")));
        row("rollback, then deploy v1.3.0", await measured(url, async () => {
            await cli(stack, ROOT, "rollback");
            await cli(stack, ROOT, "deploy", "v1.3.0");
        }));
        const tag = `noteshub-${STACK}/noteshub-api:v1.3.0`;
        const pinned = docker("image", "inspect", "-f", "{{.Id}}", tag);
        row("live version's tag rebuilt, then pulumi preview and up (both refused)", await measured(url, async () => {
            const rebuilt = docker("build", "-q", "--no-cache", "-t", tag, "--build-arg", "APP_VERSION=v1.3.0", join(ROOT, "examples/noteshub-api"));
            stack.pulumi("preview", "--policy-pack", join(ROOT, "policy"));
            stack.up();
            docker("tag", pinned, tag);
            docker("rmi", rebuilt);
        }));
        const changed = programCopy(STACK, (dir) => {
            const bundle = join(dir, "examples/noteshub-api/dist/server.js");
            writeFileSync(bundle, readFileSync(bundle, "utf8").replace('res.setHeader("x-app-color", color);', 'res.setHeader("x-app-color", color);\n  res.setHeader("x-source", "changed");'));
        });
        copies.push(changed);
        row("app source changed: pulumi up, then deploy v1.4.0 (default steps)", await measured(url, async () => {
            up(stack, changed);
            await cli(stack, changed, "deploy", "v1.4.0");
        }));
        writeFileSync(stack.configFile, readFileSync(join(changed, `Pulumi.${STACK}.yaml`), "utf8"));

        // In-flight requests while their colour loses its share, then while that idle colour is replaced.
        const slow = (ms: number) => fetch(`${url}/api/notes?delay_ms=${ms}`, { headers: { connection: "close" } }).then((r) => r.status, (e: Error) => e.message);
        const first = slow(5000);
        await sleep(500);
        await cli(stack, ROOT, "rollback");
        const long = slow(30_000);
        await sleep(500);
        await cli(stack, ROOT, "rollback");
        const idle = JSON.parse(docker("exec", `noteshub-${STACK}-lb`, "cat", "/var/lib/noteshub/state/state.json")).active === "blue" ? "green" : "blue";
        stack.must("config", "set", `${idle}Version`, "v1.2.0");
        up(stack);
        rows.push(["a 5 s request while its colour loses its share (noteshub rollback)", `status ${await first}`]);
        rows.push(["a 30 s request while its colour loses its share and is then replaced", `status ${await long}`]);

        // The balancer upgrade, side by side: three alternated rounds of 12 s windows each.
        const image = programCopy(STACK, (dir) => writeFileSync(join(dir, "images/nginx/nginx.conf"), readFileSync(join(ROOT, "images/nginx/nginx.conf"), "utf8") + "# bench: a new balancer image\n"));
        copies.push(image);
        const lb: Record<"ours" | "reload" | "outage", { failed: number[]; sent: number[] }> = { ours: { failed: [], sent: [] }, reload: { failed: [], sent: [] }, outage: { failed: [], sent: [] } };
        for (let round = 0; round < 3; round++) {
            const runs: [keyof typeof lb, () => Promise<unknown>][] = [
                ["ours", async () => up(stack, round % 2 ? ROOT : image)],
                ["reload", async () => docker("exec", instanceOf(STACK), "nginx", "-s", "reload")],
                ["outage", async () => {
                    const id = instanceOf(STACK);
                    docker("stop", "-t", "10", id);
                    docker("start", id);
                }],
            ];
            for (const [name, act] of runs) {
                const r = await measured(url, act, 12_000);
                lb[name].failed.push(r.failed);
                lb[name].sent.push(r.requests);
            }
        }
        up(stack); // back to this checkout's balancer image
        for (const [name, what] of [["ours", "new balancer image: new instance, the old one drains (pulumi up)"], ["reload", "plain nginx -s reload (baseline)"], ["outage", "instance stopped and started (the old design's replace)"]] as const) {
            const { failed, sent } = lb[name];
            rows.push([`${what}, 3 rounds`, `median ${median(failed)} failed (min ${Math.min(...failed)}, max ${Math.max(...failed)}) of ~${median(sent)} per 12 s window`]);
        }

        // Another stack's whole life on the same engine (what npm test does beside a user's stack), then two flips.
        const { stack: next } = await startTestStack(`${STACK}-next`);
        next.dispose();
        row("another stack's life on the engine, then two colour flips (README commands)", await measured(url, async () => {
            for (const color of ["blue", "green"]) {
                stack.must("config", "set", "activeColor", color);
                if (stack.up().code !== 0) throw new Error(`flip to ${color}`);
            }
        }));
    } finally {
        stack.dispose();
        for (const c of copies) rmSync(c, { recursive: true, force: true });
    }
    console.log("\n| path | result |\n|---|---|");
    for (const [what, result] of rows) console.log(`| ${what} | ${result} |`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
