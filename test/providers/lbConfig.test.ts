// The balancer's routes against real nginx in the load-balancer image: applied routes answer at once (the apply
// waits out nginx's asynchronous reload), and a bad file is refused with nginx's words while the last good one serves.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { buildFrom } from "../../infra/docker/context";
import { fromRoot } from "../../infra/paths";
import * as container from "../../infra/providers/dockerContainer";
import * as image from "../../infra/providers/dockerImage";
import * as lbConfig from "../../infra/providers/lbConfig";
import { freePort, http, purgeDockerLeftovers } from "../helpers/stack";

const STACK = "lbtest";
const local = { host: "unix:///var/run/docker.sock" };
const routes = (body: string) => `server {\n    listen 8080;\n    location / {\n        return 200 "${body}";\n    }\n}\n`;

describe("load balancer routes against real nginx", { timeout: 5 * 60_000 }, () => {
    let containerId = "";
    let url = "";
    before(async () => {
        purgeDockerLeftovers(STACK);
        const img = await image.provider.create({ docker: local, name: `noteshub-lb:noteshub-${STACK}`, build: buildFrom(fromRoot("images/nginx")) });
        const port = await freePort();
        const c = await container.provider.create({
            docker: local, owner: `noteshub-${STACK}`, name: `noteshub-${STACK}-lb`, image: `noteshub-lb:noteshub-${STACK}`, imageId: img.outs.imageId,
            env: {}, network: "bridge", aliases: [], ports: [{ container: 8080, host: port, hostIp: "127.0.0.1" }], mounts: [],
            labels: { "io.noteshub.stack": STACK }, securityOpt: ["no-new-privileges:true"], capDrop: ["ALL"], capAdd: [], stopTimeoutSec: 2,
        });
        containerId = c.id;
        url = `http://127.0.0.1:${port}/`;
    });
    after(() => purgeDockerLeftovers(STACK));

    it("answers 503 until routes are written, runs unprivileged", async () => {
        const r = await http(url);
        assert.equal(r.status, 503);
        assert.deepEqual(r.body, { error: "no route configured yet: run pulumi up" });
    });

    it("serves each new routes file on the very next connection", async () => {
        const inputs = { docker: local, containerId, content: routes("A"), backends: {} };
        await lbConfig.provider.create(inputs);
        assert.equal((await http(url)).body, "A");
        for (const body of ["B", "C", "D", "E"]) {
            await lbConfig.provider.update("id", inputs, { ...inputs, content: routes(body) });
            for (let i = 0; i < 5; i++) assert.equal((await http(url)).body, body, `request ${i} after applying ${body}`);
        }
    });

    it("refuses a bad file with nginx's words and keeps serving the last good routes", async () => {
        const inputs = { docker: local, containerId, content: "server { listen 8080; bogus_directive on; }\n", backends: {} };
        await assert.rejects(lbConfig.provider.update("id", inputs, inputs), (err: Error) => {
            assert.match(err.message, /^docker: apply routes to load balancer [0-9a-f]{12}: noteshub-apply-config exited 1: nginx rejected the new routes \(kept the previous ones\): .*unknown directive "bogus_directive"/s);
            return true;
        });
        assert.equal((await http(url)).body, "E");
    });

    it("diffs: content, backends or a new balancer container update in place", async () => {
        const olds = { docker: local, containerId: "a", content: "x", backends: { blue: "1" } };
        assert.deepEqual(await lbConfig.provider.diff("id", olds, { ...olds, backends: { blue: "2" } }), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await lbConfig.provider.diff("id", olds, { ...olds }), { changes: false, replaces: [], deleteBeforeReplace: false });
    });
});
