// The balancer against real nginx in the load-balancer image, with two real backends on a Docker network:
// - routes files: applied at once (the apply waits out nginx's asynchronous reload), a bad one refused;
// - traffic state: a switch or a weight change is live on the next request without a reload (a keep-alive
//   connection survives it), splits by weight, keeps a client on its colour during a shift, never guesses.
import assert from "node:assert/strict";
import { request, Agent } from "node:http";
import { after, before, describe, it } from "node:test";
import { buildFrom } from "../../infra/docker/context";
import { fromRoot } from "../../infra/paths";
import * as container from "../../infra/providers/dockerContainer";
import * as image from "../../infra/providers/dockerImage";
import * as lbConfig from "../../infra/providers/lbConfig";
import * as network from "../../infra/providers/dockerNetwork";
import { renderRoutes, renderState } from "../../infra/render/nginx";
import { docker, freePort, http, purgeDockerLeftovers } from "../helpers/stack";

const STACK = "lbtest";
const local = { host: "unix:///var/run/docker.sock" };
const IMAGE = `noteshub-lb:noteshub-${STACK}`;
const NET = `noteshub-${STACK}-net`;
const fixed = (body: string) => `server {\n    listen 8080;\n    location / {\n        return 200 "${body}";\n    }\n}\n`;
const backends = {
    blue: { host: `noteshub-${STACK}-blue`, port: 8080, version: "v1.0.0" },
    green: { host: `noteshub-${STACK}-green`, port: 8080, version: "v1.0.1" },
};
const routes = renderRoutes({ stack: `noteshub-${STACK}`, backends, listenPort: 8080 });
const state = (active: "blue" | "green", traffic: number) => renderState({ stack: `noteshub-${STACK}`, active, traffic, versions: { blue: "v1.0.0", green: "v1.0.1" } });

/** A GET on a given agent (keep-alive when the agent keeps sockets), with the socket's local port. */
function get(url: string, agent: Agent | false, headers: Record<string, string> = {}): Promise<{ status: number; body: string; color?: string; cookie?: string[]; localPort: number }> {
    return new Promise((resolve, reject) => {
        const req = request(url, { agent, headers }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode!, body, color: res.headers["x-noteshub-color"] as string | undefined, cookie: res.headers["set-cookie"], localPort: req.socket!.localPort! }));
        });
        req.on("error", reject);
        req.end();
    });
}

describe("load balancer routes and traffic state against real nginx", { timeout: 5 * 60_000 }, () => {
    let lbId = "";
    let url = "";
    const start = async (name: string, ports: { container: number; host: number; hostIp: string }[]) => (await container.provider.create({
        docker: local, owner: `noteshub-${STACK}`, name, image: IMAGE, imageId: imageId, user: "www-data",
        env: {}, network: NET, aliases: [], ports, mounts: [],
        labels: { "io.noteshub.stack": STACK }, securityOpt: ["no-new-privileges:true"], capDrop: ["ALL"], capAdd: [], stopTimeoutSec: 2,
    })).id;
    let imageId = "";
    const inputs = (o: Partial<Parameters<typeof lbConfig.provider.create>[0]> = {}) => ({ docker: local, containerId: lbId, content: routes, state: state("blue", 100), backends: {}, ...o });

    before(async () => {
        purgeDockerLeftovers(STACK);
        imageId = (await image.provider.create({ docker: local, name: IMAGE, build: buildFrom(fromRoot("images/nginx")) })).outs.imageId;
        await network.provider.create({ docker: local, name: NET, labels: { "io.noteshub.stack": STACK } });
        for (const color of ["blue", "green"] as const) {
            const id = await start(backends[color].host, []);
            await lbConfig.provider.create({ docker: local, containerId: id, content: fixed(color), backends: {} });
        }
        const port = await freePort();
        lbId = await start(`noteshub-${STACK}-lb`, [{ container: 8080, host: port, hostIp: "127.0.0.1" }]);
        url = `http://127.0.0.1:${port}/`;
    });
    after(() => purgeDockerLeftovers(STACK));

    it("answers 503 until routes are written", async () => {
        const r = await http(url);
        assert.equal(r.status, 503);
        assert.deepEqual(r.body, { error: "no route configured yet: run pulumi up" });
    });

    it("serves each new routes file on the very next connection", async () => {
        const olds = inputs({ content: fixed("A"), state: undefined });
        await lbConfig.provider.create(olds);
        assert.equal((await http(url)).body, "A");
        for (const body of ["B", "C"]) {
            await lbConfig.provider.update("id", olds, { ...olds, content: fixed(body) });
            for (let i = 0; i < 5; i++) assert.equal((await http(url)).body, body, `request ${i} after applying ${body}`);
        }
    });

    it("refuses a bad routes file with nginx's words and keeps serving the last good routes", async () => {
        const bad = inputs({ content: "server { listen 8080; bogus_directive on; }\n", state: undefined });
        await assert.rejects(lbConfig.provider.update("id", inputs({ state: undefined }), bad), (err: Error) => {
            assert.match(err.message, /^docker: apply routes to load balancer [0-9a-f]{12}: noteshub-apply-config exited 1: nginx rejected the new routes \(kept the previous ones\): .*unknown directive "bogus_directive"/s);
            return true;
        });
        assert.equal((await http(url)).body, "C");
    });

    it("routes by the state: all to the active colour, /lb/status shows the state", async () => {
        await lbConfig.provider.update("id", inputs({ content: fixed("C") }), inputs());
        for (let i = 0; i < 5; i++) {
            const r = await get(url, false);
            assert.deepEqual([r.status, r.body, r.color, r.cookie], [200, "blue", "blue", undefined]);
        }
        assert.deepEqual((await http(`${url}lb/status`)).body, JSON.parse(state("blue", 100)));
    });

    it("switches on the next request of a kept-alive connection, with no reload", async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const first = await get(url, agent);
        assert.equal(first.body, "blue");
        let olds = inputs();
        for (const active of ["green", "blue", "green"] as const) {
            const news = inputs({ state: state(active, 100) });
            await lbConfig.provider.update("id", olds, news);
            olds = news;
            const r = await get(url, agent);
            assert.equal(r.body, active);
            assert.equal(r.localPort, first.localPort, "same connection: nginx did not close it");
        }
        agent.destroy();
    });

    it("splits by weight, and keeps a client on its colour during a shift", async () => {
        await lbConfig.provider.update("id", inputs(), inputs({ state: state("green", 25) }));
        const answers = await Promise.all(Array.from({ length: 400 }, () => get(url, false)));
        const green = answers.filter((a) => a.body === "green").length;
        assert.ok(green > 60 && green < 140, `25 % of 400 to green, got ${green}`); // ±4 standard deviations
        const first = answers[0];
        assert.deepEqual(first.cookie, [`noteshub_color=${first.body}; Path=/; HttpOnly; SameSite=Lax`]);
        for (let i = 0; i < 20; i++) {
            const r = await get(url, false, { cookie: "noteshub_color=green" });
            assert.deepEqual([r.body, r.cookie], ["green", undefined], "a green client stays green and is not re-cookied");
        }
        // When green's share drops to 0 (a rollback), its clients move too.
        await lbConfig.provider.update("id", inputs(), inputs({ state: state("blue", 100) }));
        assert.equal((await get(url, false, { cookie: "noteshub_color=green" })).body, "blue");
    });

    it("refuses a state that is not JSON and keeps routing by the last good one", async () => {
        await assert.rejects(lbConfig.provider.update("id", inputs(), inputs({ state: "half a fi" })), /noteshub-apply-state exited 1: .* is not a JSON object; kept the current state/);
        assert.equal((await get(url, false)).body, "blue");
    });

    it("keeps routing by its state across a restart of the balancer", async () => {
        await lbConfig.provider.update("id", inputs(), inputs({ state: state("green", 100) }));
        docker("restart", "-t", "2", lbId);
        for (let i = 0; i < 50 && (await get(url, false).catch(() => undefined))?.status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal((await get(url, false)).body, "green");
        await lbConfig.provider.update("id", inputs(), inputs({ state: state("blue", 100) }));
    });

    it("without a readable state answers 502, never a guessed colour", async () => {
        docker("exec", lbId, "rm", "/etc/nginx/noteshub/state.json");
        assert.equal((await get(url, false)).status, 502);
        await lbConfig.provider.update("id", inputs(), inputs({ state: state("green", 100) }));
        assert.equal((await get(url, false)).body, "green");
    });

    it("diffs: everything updates in place", async () => {
        const olds = { docker: local, containerId: "a", content: "x", state: "s", backends: { blue: "1" } };
        assert.deepEqual(await lbConfig.provider.diff("id", olds, { ...olds, backends: { blue: "2" } }), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await lbConfig.provider.diff("id", olds, { ...olds, state: "t" }), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await lbConfig.provider.diff("id", olds, { ...olds }), { changes: false, replaces: [], deleteBeforeReplace: false });
    });
});
