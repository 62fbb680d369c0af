// Bad input through the real pulumi CLI: one clear message naming what and where, and nothing touched.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { after, describe, it } from "node:test";
import { stagingValues } from "../helpers/config";
import { docker, freePort, purgeDockerLeftovers, TestStack } from "../helpers/stack";

const STACK = "e2e-bad";

const validConfig = async () => stagingValues({ loadBalancer: { port: await freePort() } });

const containersOf = (stack: string) => docker("ps", "-a", "--format", "{{.Names}}", "--filter", `label=io.noteshub.stack=${stack}`).split("\n").filter(Boolean);

/** Resources in the stack's state that stand for something real (dynamic resources); components own nothing. */
function stateResources(stack: TestStack): string[] {
    const r = stack.pulumi("stack", "export");
    if (r.code !== 0) return [];
    const deployment = JSON.parse(r.stdout).deployment;
    return (deployment.resources ?? []).map((x: { type: string }) => x.type).filter((t: string) => t.startsWith("pulumi-nodejs:dynamic"));
}

describe("bad input changes nothing (real pulumi and Docker)", { timeout: 10 * 60_000 }, () => {
    let stack: TestStack | undefined;
    const fresh = async (over: Record<string, unknown>) => {
        stack?.dispose();
        purgeDockerLeftovers(STACK);
        stack = new TestStack(STACK, { ...(await validConfig()), ...over });
        stack.init({ "database.password": "e2e-password-0123" });
        return stack;
    };
    after(() => stack?.dispose());

    it("a config error: every problem with its path and fix, preview and up fail, nothing created", async () => {
        const s = await fresh({ activeColor: "purple", greenVersion: "v2.0.0" });
        for (const cmd of [["preview"], ["up", "--yes", "--skip-preview"]]) {
            const r = s.pulumi(...cmd);
            assert.notEqual(r.code, 0);
            const out = r.stdout + r.stderr;
            assert.match(out, /stack e2e-bad: 2 config problems, nothing was changed:/);
            assert.match(out, /noteshub:activeColor: must be "blue" or "green", got "purple"; fix: pulumi config set --path 'activeColor' 'blue'/);
            assert.match(out, /noteshub:greenVersion: v2\.0\.0 is not one of the retained versions \(v1\.0\.1, v1\.0\.0, v0\.9\.0\)/);
            assert.doesNotMatch(out, /at Object\.<anonymous>|\.ts:\d+:\d+/, "no stack trace");
        }
        assert.deepEqual(stateResources(s), []);
        assert.deepEqual(containersOf(STACK), []);
    });

    it("a Docker engine that is not running: one message naming the engine, nothing created", async () => {
        const s = await fresh({ docker: { host: "unix:///tmp/noteshub-no-docker.sock" } });
        const r = s.up();
        assert.notEqual(r.code, 0);
        const out = r.stdout + r.stderr;
        assert.match(out, /docker: reach engine: connect ENOENT \/tmp\/noteshub-no-docker\.sock\n\s*-> the Docker engine at unix:\/\/\/tmp\/noteshub-no-docker\.sock is not reachable \(ENOENT\); start it/);
        const diagnostics = out.split("Diagnostics:")[1] ?? "";
        assert.equal(diagnostics.match(/error: docker: /g)?.length, 1, `one error in the diagnostics:\n${diagnostics}`);
        assert.doesNotMatch(diagnostics, /warning/);
        assert.deepEqual(stateResources(s), []);
    });

    it("a host port already taken: names the port and the config key, nothing created", async () => {
        const cfg = await validConfig();
        const port = (cfg.loadBalancer as { port: number }).port;
        const holder = createServer().listen(port, "127.0.0.1");
        try {
            const s = await fresh(cfg);
            const r = s.up();
            assert.notEqual(r.code, 0);
            assert.match(r.stdout + r.stderr, new RegExp(`preflight: host port 127\\.0\\.0\\.1:${port} \\(loadBalancer\\.port\\) is in use on this machine \\(see: ss -ltnp \\| grep :${port}\\); free it or set another port: pulumi config set --path 'loadBalancer\\.port' <free port>\\. Nothing was changed\\.`));
            assert.deepEqual(stateResources(s), []);
            assert.deepEqual(containersOf(STACK), []);
        } finally {
            holder.close();
        }
    });

    it("a database that will not start: its own words in the error, no container left, no app started", async () => {
        const s = await fresh({ database: { image: "noteshub-broken-db:test", build: "test/fixtures/broken-db" } });
        const r = s.up();
        assert.notEqual(r.code, 0);
        const out = r.stdout + r.stderr;
        assert.match(out, /docker: start container noteshub-e2e-bad-db: container noteshub-e2e-bad-db exited with code 1/);
        assert.match(out, /FATAL: data directory \/data\/db is corrupt/);
        assert.match(out, /nothing was kept; fix the cause and run pulumi up again/);
        assert.deepEqual(containersOf(STACK).filter((c) => /-(db|blue|green)$/.test(c)), [], "no database or app container");
        // The balancer's holder may already run (and an nginx instance): with no traffic state it routes nowhere.
        if (containersOf(STACK).includes(`noteshub-${STACK}-lb`)) {
            const port = JSON.parse(docker("inspect", `noteshub-${STACK}-lb`))[0].HostConfig.PortBindings["8080/tcp"][0].HostPort;
            const code = spawnSync("curl", ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/health`], { encoding: "utf8" }).stdout;
            assert.ok(code === "000" || code === "502", `nothing is served (no answer, or 502): got ${code}`);
        }
    });
});
