// The balancer against real nginx, built from its parts by the providers: the holder that publishes the port and
// keeps the traffic state, nginx instances in its network namespace, two real backends on a Docker network.
// - traffic state: a switch or a weight change is live on the next request without a reload (a keep-alive
//   connection survives it), splits by weight, keeps a client on its colour during a shift, never guesses;
// - a new instance (new routes, a new image) takes over under keep-alive load without a failed request: the old one
//   drains (its answers close their connections) and quits gracefully; one that can't start leaves the old serving.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { request, Agent } from "node:http";
import { after, before, describe, it } from "node:test";
import { buildFrom } from "../../infra/docker/context";
import { STATE_DIR } from "../../infra/docker/live";
import { probeVia } from "../../infra/health/probe";
import * as container from "../../infra/providers/dockerContainer";
import * as image from "../../infra/providers/dockerImage";
import * as network from "../../infra/providers/dockerNetwork";
import * as traffic from "../../infra/providers/trafficState";
import { renderRoutes, renderState } from "../../infra/render/nginx";
import { startLoad } from "../helpers/load";
import { docker, dockerOk, freePort, http, purgeDockerLeftovers } from "../helpers/stack";

const STACK = "lbtest";
const local = { host: "unix:///var/run/docker.sock" };
const NET = `noteshub-${STACK}-net`;
const n = (part: string) => `noteshub-${STACK}-${part}`;
// A backend answering its colour, and at /seen what reached it of the preview token (cookie | header).
const fixed = (body: string) => `server {\n    listen 8080;\n    location / {\n        return 200 "${body}";\n    }\n    location = /seen {\n        return 200 "${body} cookie=$http_cookie header=$http_x_noteshub_preview";\n    }\n}\n`;
const routesFor = (holders: { blue: string; green: string }) => renderRoutes({
    stack: n("x"),
    backends: { blue: { host: n("blue-addr"), port: 8080, addressId: holders.blue }, green: { host: n("green-addr"), port: 8080, addressId: holders.green } },
    listenPort: 8080,
});
const state = (active: "blue" | "green", t: number) => renderState({ stack: n("x"), active, traffic: t, versions: { blue: "v1.0.0", green: "v1.0.1" } });

/** A GET on a given agent (keep-alive when the agent keeps sockets), with the socket's local port. */
function get(url: string, agent: Agent | false, headers: Record<string, string> = {}): Promise<{ status: number; body: string; color?: string; cookie?: string[]; connection?: string; localPort: number; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
        const req = request(url, { agent, headers }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode!, body, color: res.headers["x-noteshub-color"] as string | undefined, cookie: res.headers["set-cookie"], connection: res.headers.connection, localPort: req.socket!.localPort!, headers: res.headers }));
        });
        req.on("error", reject);
        req.end();
    });
}

describe("the balancer (holder, nginx instances, traffic state) against real nginx", { timeout: 5 * 60_000 }, () => {
    let holderId = "";
    let url = "";
    const ids = { holder: "", nginx: "" };
    const labels = { "io.noteshub.stack": STACK };
    const base = { docker: local, owner: n("owner"), env: {}, aliases: [], ports: [], labels, securityOpt: ["no-new-privileges:true"], capDrop: ["ALL"], capAdd: [], user: "www-data", stopTimeoutSec: 5 };
    const handover = { group: n("lb"), drain: ["noteshub-drain"], connections: ["noteshub-connections"], drainSec: 5, trialNetwork: NET };
    const guard = { color: "*", what: "the only nginx instance", balancer: n("lb"), share: null, running: null, allowOutage: false };
    /** An nginx instance in the holder's network namespace with these routes. */
    const instance = (routes: string) => ({
        ...base, name: n(`lb-${createHash("sha256").update(routes).digest("hex").slice(0, 10)}`), image: `noteshub-${STACK}/lb:1`, imageId: ids.nginx,
        network: `container:${holderId}`, mounts: [{ volume: n("lbstate"), target: STATE_DIR, readOnly: true }],
        files: [{ path: "/etc/nginx/noteshub/routes.conf", content: routes, uid: 33 }],
        readyExec: ["noteshub-ready"], waitFor: "running" as const, readyTimeoutSec: 20, handover, guard,
    });
    const inputs = (s: string) => ({ docker: local, containerId: holderId, state: s, weights: {} });
    let current: Awaited<ReturnType<typeof container.provider.create>>;

    // The state volume is made by its mount (no label to purge by): a killed run's would hold an old state.
    const dropState = () => {
        if (dockerOk("volume", "inspect", n("lbstate"))) docker("volume", "rm", n("lbstate"));
    };
    before(async () => {
        purgeDockerLeftovers(STACK);
        dropState();
        ids.holder = (await image.provider.create({ docker: local, name: `noteshub-${STACK}/holder:1`, build: buildFrom("images/holder") })).outs.imageId;
        ids.nginx = (await image.provider.create({ docker: local, name: `noteshub-${STACK}/lb:1`, build: buildFrom("images/nginx") })).outs.imageId;
        await network.provider.create({ docker: local, name: NET, labels });
        for (const color of ["blue", "green"]) {
            await container.provider.create({ ...base, name: n(`${color}-addr`), image: `noteshub-${STACK}/lb:1`, imageId: ids.nginx, network: NET, mounts: [], files: [{ path: "/etc/nginx/noteshub/routes.conf", content: fixed(color), uid: 33 }] });
        }
        const port = await freePort();
        holderId = (await container.provider.create({
            ...base, name: n("lb"), image: `noteshub-${STACK}/holder:1`, imageId: ids.holder, network: NET,
            ports: [{ container: 8080, host: port, hostIp: "127.0.0.1" }], mounts: [{ volume: n("lbstate"), target: STATE_DIR }],
            sysctls: { "net.ipv4.tcp_migrate_req": "1" }, waitFor: "running",
        })).id;
        current = await container.provider.create(instance(routesFor({ blue: "b1", green: "g1" })));
        url = `http://127.0.0.1:${port}/`;
    });
    after(() => {
        purgeDockerLeftovers(STACK);
        dropState();
    });

    it("answers 502 until a traffic state is written: never a guessed colour", async () => {
        assert.equal((await get(url, false)).status, 502);
        assert.equal((await http(`${url}lb/status`)).status, 503);
    });

    it("routes by the state: all to the active colour, /lb/status shows the state", async () => {
        await traffic.provider.create(inputs(state("blue", 100)));
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
        for (const active of ["green", "blue", "green"] as const) {
            await traffic.provider.update("id", inputs(""), inputs(state(active, 100)));
            const r = await get(url, agent);
            assert.equal(r.body, active);
            assert.equal(r.localPort, first.localPort, "same connection: nginx did not close it");
        }
        agent.destroy();
    });

    it("maintenance: 503 with Retry-After and the message on the same kept-alive connection, a page for a browser; then routing as before", async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const first = await get(url, agent);
        assert.equal(first.body, "green");
        const message = 'Back at 03:30 <UTC> & "soon"';
        const on = renderState({ stack: n("x"), active: "green", traffic: 100, versions: { blue: "v1.0.0", green: "v1.0.1" }, maintenance: { message, retryAfterSec: 120 } });
        await traffic.provider.update("id", inputs(""), inputs(on));
        for (let i = 0; i < 3; i++) {
            const r = await get(url, agent);
            assert.deepEqual([r.status, JSON.parse(r.body), r.headers["retry-after"], r.headers["content-type"], r.localPort], [503, { error: "maintenance", message, retryAfterSec: 120 }, "120", "application/json", first.localPort]);
        }
        const page = await get(url, agent, { accept: "text/html,application/xhtml+xml" });
        assert.deepEqual([page.status, page.headers["content-type"], page.localPort], [503, "text/html; charset=utf-8", first.localPort]);
        assert.match(page.body, /<p>Back at 03:30 &lt;UTC&gt; &amp; &quot;soon&quot;<\/p>/);
        // The readiness check still sees the routing (a new instance can take over in maintenance); status shows it.
        assert.deepEqual((await http(`${url}lb/route`)).body, { color: "green", maintenance: true });
        assert.deepEqual((await http(`${url}lb/status`)).body, JSON.parse(on));
        await traffic.provider.update("id", inputs(""), inputs(state("green", 100)));
        const back = await get(url, agent);
        assert.deepEqual([back.status, back.body, back.localPort], [200, "green", first.localPort], "served again on the same connection");
        agent.destroy();
    });

    it("preview: the token (header or cookie) reaches the idle colour or the one it names, in maintenance too; anything else is routed by the shares", async () => {
        const token = "qa-0123456789abcdef";
        const versions = { blue: "v1.0.0", green: "v1.0.1" };
        await traffic.provider.update("id", inputs(""), inputs(renderState({ stack: n("x"), active: "green", traffic: 100, versions, previewToken: token })));
        const as = async (headers: Record<string, string>) => (await get(url, false, headers)).body;
        assert.equal(await as({}), "green");
        assert.equal(await as({ "x-noteshub-preview": token }), "blue", "the idle colour");
        assert.equal(await as({ cookie: `noteshub_preview=${token}` }), "blue");
        assert.equal(await as({ "x-noteshub-preview": `green:${token}` }), "green");
        // The app never sees the token; the user's other cookies reach it as sent.
        const seen = async (headers: Record<string, string>) => (await get(`${url}seen`, false, headers)).body;
        assert.equal(await seen({ cookie: `noteshub_preview=${token}` }), "blue cookie= header=");
        assert.equal(await seen({ cookie: `noteshub_preview=${token}; sid=1; noteshub_color=blue` }), "blue cookie=sid=1; noteshub_color=blue header=");
        assert.equal(await seen({ cookie: `sid=1; noteshub_preview=${token}; theme=dark` }), "blue cookie=sid=1; theme=dark header=");
        assert.equal(await seen({ cookie: `sid=1;noteshub_preview=${token}` }), "blue cookie=sid=1 header=");
        assert.equal(await seen({ cookie: `my_noteshub_preview=1; sid=2` }), "green cookie=my_noteshub_preview=1; sid=2 header=");
        assert.equal(await seen({ "x-noteshub-preview": token, cookie: "sid=3" }), "blue cookie=sid=3 header=");
        // As nginx itself reads the cookie (any case, spaces around "=", "," between cookies): none of those leak.
        assert.equal(await seen({ cookie: `NOTESHUB_PREVIEW=${token}; sid=4` }), "blue cookie=sid=4 header=");
        assert.equal(await seen({ cookie: `sid=4; noteshub_preview = ${token}` }), "blue cookie=sid=4 header=");
        assert.equal(await seen({ cookie: `sid=4, noteshub_preview=${token}` }), "blue cookie=sid=4 header=");
        // A second preview cookie (two paths): the app gets no cookies rather than a token.
        assert.equal(await seen({ cookie: `sid=5; noteshub_preview=${token}; noteshub_preview=other` }), "blue cookie= header=");
        assert.equal(await seen({ cookie: `noteshub_preview=other; noteshub_preview=${token}` }), "green cookie= header=");
        for (const wrong of [`${token}x`, "qa-0123456789abcde", `blue:${token}x`, `red:${token}`, ""]) assert.equal(await as({ "x-noteshub-preview": wrong }), "green", wrong);
        // During a shift the token reaches the colour being promoted; in maintenance it still gets through.
        await traffic.provider.update("id", inputs(""), inputs(renderState({ stack: n("x"), active: "blue", traffic: 10, versions, previewToken: token })));
        for (let i = 0; i < 10; i++) assert.equal(await as({ "x-noteshub-preview": token }), "blue");
        await traffic.provider.update("id", inputs(""), inputs(renderState({ stack: n("x"), active: "green", traffic: 100, versions, previewToken: token, maintenance: { message: "m", retryAfterSec: 5 } })));
        assert.equal((await get(url, false)).status, 503);
        assert.deepEqual([(await get(url, false, { "x-noteshub-preview": token })).status, await as({ "x-noteshub-preview": token })], [200, "blue"]);
        await traffic.provider.update("id", inputs(""), inputs(state("green", 100)));
        assert.equal(await as({ "x-noteshub-preview": token }), "green", "no preview without a token in the state");
    });

    it("splits by weight, and keeps a client on its colour during a shift", async () => {
        await traffic.provider.update("id", inputs(""), inputs(state("green", 25)));
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
        await traffic.provider.update("id", inputs(""), inputs(state("blue", 100)));
        assert.equal((await get(url, false, { cookie: "noteshub_color=green" })).body, "blue");
    });

    it("refuses a state that is not a whole traffic state, in the provider and in the holder, and keeps the last good one", async () => {
        const bad = ["half a fi", '{"weights":{}}\n', state("blue", 100).replace('"green":0', '"green":10'), state("green", 30).replace('"traffic":30', '"traffic":70'), state("blue", 100).replace('"green":"v1.0.1"', '"green":""'), state("blue", 100).replace(/}\n$/, ',"maintenance":{"message":"","retryAfterSec":300}}\n')];
        for (const s of bad) {
            await assert.rejects(traffic.provider.update("id", inputs(""), inputs(s)), /^Error: refusing to apply a traffic state: .*; the balancer keeps the current one$/, s);
            // The holder's own check, for anything that writes the file past the provider.
            docker("exec", "-u", "www-data", holderId, "sh", "-c", `printf '%s\\n' '${s.replace(/\n$/, "")}' > ${STATE_DIR}/state.json.next`);
            const r = spawnSync("docker", ["exec", "-u", "www-data", holderId, "noteshub-apply-state"], { encoding: "utf8" });
            assert.equal(r.status, 1, `${s}: ${r.stdout}${r.stderr}`);
            assert.match(r.stderr, /^noteshub-apply-state: \/var\/lib\/noteshub\/state\/state\.json\.next .*; kept the current state\n$/);
            assert.equal((await get(url, false)).body, "blue", s);
        }
        assert.equal(docker("exec", holderId, "cat", `${STATE_DIR}/state.json`) + "\n", state("blue", 100), "the last good state is untouched");
    });

    it("a probe sends a path as written: brackets and braces in a smoke check's query are not curl globs", async () => {
        const Docker = (await import("dockerode")).default;
        const r = await probeVia(new Docker(), holderId, { host: "127.0.0.1", port: 8080 }, "GET", "/lb/status?tags[]=a&q={x}", 2000);
        assert.deepEqual([r.status, r.error], [200, undefined]);
        assert.equal(JSON.parse(r.body).active, "blue");
    });

    it("notices a live state that differs from the declared one, and the update writes the declared one back", async () => {
        const declared = inputs(state("blue", 100));
        assert.equal((await traffic.provider.diff("id", declared, declared)).changes, false);
        docker("exec", "-u", "www-data", holderId, "sh", "-c", `printf '%s\n' '${state("green", 100).trim()}' > ${STATE_DIR}/state.json`);
        assert.equal((await get(url, false)).body, "green", "someone moved traffic by hand");
        assert.deepEqual(await traffic.provider.diff("id", declared, declared), { changes: true, replaces: [], deleteBeforeReplace: false, diffs: ["state"] });
        await traffic.provider.update("id", declared, declared);
        assert.equal((await get(url, false)).body, "blue");
        assert.equal((await traffic.provider.diff("id", declared, declared)).changes, false);
    });

    it("keeps routing by its state across a restart of the instance (the state lives in the holder's volume)", async () => {
        await traffic.provider.update("id", inputs(""), inputs(state("green", 100)));
        docker("restart", "-t", "2", current.id);
        for (let i = 0; i < 50 && (await get(url, false).catch(() => undefined))?.status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal((await get(url, false)).body, "green");
        docker("exec", holderId, "rm", `${STATE_DIR}/state.json`);
        assert.equal((await get(url, false)).status, 502, "no state: nowhere, not a guess");
        await traffic.provider.update("id", inputs(""), inputs(state("blue", 100)));
        assert.equal((await get(url, false)).body, "blue");
    });

    it("a draining instance closes each connection after its answer", async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        assert.equal((await get(url, agent)).connection, "keep-alive");
        docker("exec", current.id, "noteshub-drain");
        const r = await get(url, agent);
        assert.deepEqual([r.status, r.body, r.connection], [200, "blue", "close"]);
        docker("exec", current.id, "rm", "/tmp/nginx/draining");
        agent.destroy();
    });

    it("a new instance takes over under keep-alive load without a failed request; the old one is gone", async () => {
        const load = startLoad(url, { threads: 1, connections: 20 });
        await new Promise((r) => setTimeout(r, 1000));
        const olds = [current]; // (stopped below; an assertion failing in between leaves wrk to the after hook's kill)
        for (const round of [2, 3, 4]) {
            const next = await container.provider.create(instance(routesFor({ blue: `b${round}`, green: "g1" })));
            assert.ok(!dockerOk("inspect", olds.at(-1)!.id), `round ${round}: the old instance is gone once the new one serves`);
            olds.push(next);
            await new Promise((r) => setTimeout(r, 500));
        }
        current = olds.at(-1)!;
        await new Promise((r) => setTimeout(r, 1000));
        const result = await load.stop();
        console.log(`# 3 handovers under wrk: ${result.requests} requests, failed ${result.failed} (${JSON.stringify(result.socketErrors)}, non-2xx ${result.non2xx})`);
        assert.ok(result.requests > 1000, `load ran: ${result.requests}`);
        assert.equal(result.failed, 0, result.raw);
        // Its delete after a replacement finds it gone: fine.
        await container.provider.delete(olds[0].id, olds[0].outs);
    });

    it("an instance that can't start, or starts but can't route, is tried aside and never serves a request", async () => {
        const load = startLoad(url, { threads: 1, connections: 20 });
        try {
            await new Promise((r) => setTimeout(r, 500));
            await assert.rejects(container.provider.create({ ...instance("server { listen 8080 reuseport; bogus_directive on; }\n"), readyTimeoutSec: 5 }),
                /docker: try container noteshub-lbtest-lb-[0-9a-f]{10} before it serves: container noteshub-lbtest-lb-[0-9a-f]{10} (exited with code 1[\s\S]*unknown directive "bogus_directive"|not ready after 5s)/);
            // nginx runs and listens, but its routing answers 500: it is refused on its trial address.
            const broken = routesFor({ blue: "b9", green: "g9" }).replace("js_content noteshub.status;", "return 500;");
            await assert.rejects(container.provider.create({ ...instance(broken), readyTimeoutSec: 3 }),
                /before it serves: container .* not ready after 3s \(health: noteshub-ready, last check: routing fails: \/lb\/status answered 500[\s\S]*the instance that serves was left as it is/);
        } finally {
            const result = await load.stop();
            assert.equal(result.failed, 0, result.raw);
        }
        assert.equal(docker("inspect", "-f", "{{.State.Running}}", current.id), "true");
        assert.equal(docker("ps", "-aq", "--filter", `label=io.noteshub.stack=${STACK}`, "--filter", "name=trial").split("\n").filter(Boolean).length, 0, "no trial left");
        assert.equal(docker("ps", "-aq", "--filter", `label=io.noteshub.handover=${n("lb")}`).split("\n").filter(Boolean).length, 1);
    });

    it("the same instance created again (pulumi up --replace) starts beside it and takes over: 0 failed", async () => {
        const load = startLoad(url, { threads: 1, connections: 20 });
        let again: typeof current;
        try {
            await new Promise((r) => setTimeout(r, 500));
            again = await container.provider.create(instance(current.outs.files![0].content));
            await new Promise((r) => setTimeout(r, 500));
        } finally {
            const result = await load.stop();
            assert.equal(result.failed, 0, result.raw);
        }
        assert.equal(again.outs.name, current.outs.name);
        assert.notEqual(again.id, current.id);
        assert.ok(!dockerOk("inspect", current.id), "the one moved aside drained and quit");
        // The old resource's delete at the end of that update finds its container gone.
        await container.provider.delete(current.id, current.outs);
        current = again;
    });

    it("the only instance is not removed while a colour serves; NOTESHUB_ALLOW_OUTAGE=1 lets it", async () => {
        await assert.rejects(container.provider.delete(current.id, current.outs), /Error: docker: remove container noteshub-lbtest-lb-[0-9a-f]{10}: the only nginx instance serves traffic, so stopping it would drop requests/);
        assert.equal(docker("inspect", "-f", "{{.State.Running}}", current.id), "true");
    });

    it("an instance killed outright comes back: its sockets and drain flag start fresh", async () => {
        docker("exec", current.id, "noteshub-drain");
        docker("kill", current.id);
        docker("start", current.id);
        for (let i = 0; i < 50 && !dockerOk("exec", current.id, "noteshub-ready"); i++) await new Promise((r) => setTimeout(r, 100));
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const r = await get(url, agent);
        assert.deepEqual([r.status, r.body, r.connection], [200, "blue", "keep-alive"], "not draining any more");
        agent.destroy();
    });

    it("diffs: the traffic state updates in place", async () => {
        // Ids no container has: the engine resolves a short prefix ("a") to any container whose id starts with it.
        const olds = { docker: local, containerId: "noteshub-no-such-container-a", state: "s", weights: { blue: 100 } };
        assert.deepEqual(await traffic.provider.diff("id", olds, { ...olds, containerId: "noteshub-no-such-container-b" }), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await traffic.provider.diff("id", olds, { ...olds, state: "t" }), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await traffic.provider.diff("id", olds, { ...olds }), { changes: false, replaces: [], deleteBeforeReplace: false });
    });
});
