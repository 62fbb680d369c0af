// Each Docker provider against the real engine: create, diff, update, replace, delete, and the failures a user
// meets (engine errors, unhealthy or crashing containers, a taken port, names that belong to someone else).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildFrom } from "../../infra/docker/context";
import * as container from "../../infra/providers/dockerContainer";
import * as image from "../../infra/providers/dockerImage";
import * as network from "../../infra/providers/dockerNetwork";
import * as volume from "../../infra/providers/dockerVolume";
import * as preflight from "../../infra/providers/preflight";
import { docker, dockerOk, freePort, purgeDockerLeftovers } from "../helpers/stack";

const STACK = "provtest";
const local = { host: "unix:///var/run/docker.sock" };
const labels = { "io.noteshub.project": "noteshub", "io.noteshub.stack": STACK };
const owner = `noteshub-${STACK}`;
const n = (part: string) => `noteshub-${STACK}-${part}`;

function spec(part: string, over: Partial<Parameters<typeof container.provider.create>[0]> = {}): Parameters<typeof container.provider.create>[0] {
    return {
        docker: local, owner, name: n(part), image: "debian:bookworm-slim", imageId: "any",
        env: { GREETING: "hi" }, command: ["sleep", "infinity"], network: "bridge", aliases: [], ports: [],
        mounts: [], labels, securityOpt: ["no-new-privileges:true"], capDrop: ["ALL"], capAdd: [], stopTimeoutSec: 1,
        readyTimeoutSec: 20, ...over,
    };
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<string> {
    try {
        await p;
    } catch (err) {
        assert.match((err as Error).message, re);
        return (err as Error).message;
    }
    assert.fail(`expected an error matching ${re}`);
}

describe("Docker providers against the real engine", { timeout: 10 * 60_000 }, () => {
    before(() => purgeDockerLeftovers(STACK));
    after(() => {
        purgeDockerLeftovers(STACK);
        for (const c of ["foreign", "holder"]) if (dockerOk("inspect", n(c))) docker("rm", "-f", n(c));
        for (const i of [`noteshub-provtest-img:1`, `noteshub-provtest-bad:1`]) if (dockerOk("image", "inspect", i)) docker("rmi", "-f", i);
    });

    describe("volume", () => {
        it("creates, adopts an existing one, and never removes it on delete", async () => {
            const v = await volume.provider.create({ docker: local, name: n("vol"), labels });
            assert.equal(v.id, n("vol"));
            docker("run", "--rm", "-v", `${n("vol")}:/d`, "debian:bookworm-slim", "sh", "-c", "echo kept > /d/f");
            const again = await volume.provider.create({ docker: local, name: n("vol"), labels });
            assert.equal(again.id, v.id);
            await volume.provider.delete();
            assert.equal(docker("run", "--rm", "-v", `${n("vol")}:/d`, "debian:bookworm-slim", "cat", "/d/f"), "kept");
        });

        it("diffs: a new name replaces (the old volume stays), labels change in place", async () => {
            const olds = { docker: local, name: n("vol"), labels, mountpoint: "/x" };
            assert.deepEqual(await volume.provider.diff("id", olds, { docker: local, name: n("vol2"), labels }), { changes: true, replaces: ["name"], deleteBeforeReplace: false });
            assert.deepEqual(await volume.provider.diff("id", olds, { docker: local, name: n("vol"), labels: { a: "b" } }), { changes: true, replaces: [], deleteBeforeReplace: false });
        });
    });

    describe("network", () => {
        it("creates, adopts its own, refuses a foreign one, deletes idempotently", async () => {
            const net = await network.provider.create({ docker: local, name: n("net"), labels });
            const again = await network.provider.create({ docker: local, name: n("net"), labels });
            assert.equal(again.id, net.id);
            await network.provider.delete(net.id, net.outs);
            assert.ok(!dockerOk("network", "inspect", n("net")));
            await network.provider.delete(net.id, net.outs);
            docker("network", "create", n("foreign"));
            try {
                await rejects(network.provider.create({ docker: local, name: n("foreign"), labels }), /a network with this name exists and is not this stack's; remove it \(docker network rm noteshub-provtest-foreign\)/);
            } finally {
                docker("network", "rm", n("foreign"));
            }
        });
    });

    describe("image", () => {
        const dir = mkdtempSync(join(tmpdir(), "noteshub-img-"));
        after(() => rmSync(dir, { recursive: true, force: true }));

        it("builds from a directory, rebuilds in place when its content changes or its tag is gone, keeps the tag on delete", async () => {
            writeFileSync(join(dir, "Dockerfile"), "FROM debian:bookworm-slim\nCOPY msg /msg\n");
            writeFileSync(join(dir, "msg"), "one");
            const first = await image.provider.create({ docker: local, name: "noteshub-provtest-img:1", build: buildFrom(dir) });
            assert.match(first.outs.imageId, /^sha256:/);
            writeFileSync(join(dir, "msg"), "two");
            const news = { docker: local, name: "noteshub-provtest-img:1", build: buildFrom(dir) };
            assert.deepEqual(await image.provider.diff("id", first.outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.deepEqual(await image.provider.diff("id", first.outs, { ...news, build: first.outs.build }), { changes: false, replaces: [], deleteBeforeReplace: false });
            const second = await image.provider.update("id", first.outs, news);
            assert.notEqual(second.outs.imageId, first.outs.imageId);
            assert.equal(docker("run", "--rm", "noteshub-provtest-img:1", "cat", "/msg"), "two");
            await image.provider.delete("id", second.outs);
            assert.ok(dockerOk("image", "inspect", "noteshub-provtest-img:1"), "another stack on this engine may use the same tag");
            docker("image", "rm", "noteshub-provtest-img:1"); // as another stack's destroy did before
            assert.deepEqual(await image.provider.diff("id", second.outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
            // A stack's own tag (the balancer's) goes with the stack.
            const own = await image.provider.create({ ...news, removeOnDelete: true });
            await image.provider.delete("id", own.outs);
            assert.ok(!dockerOk("image", "inspect", "noteshub-provtest-img:1"));
        });

        it("reports a failing build step with the last build lines", async () => {
            writeFileSync(join(dir, "Dockerfile"), "FROM debian:bookworm-slim\nRUN echo about to fail && exit 7\n");
            const msg = await rejects(image.provider.create({ docker: local, name: "noteshub-provtest-bad:1", build: buildFrom(dir) }),
                /^docker: build image noteshub-provtest-bad:1: The command '\/bin\/sh -c echo about to fail && exit 7' returned a non-zero code: 7/);
            assert.match(msg, /last build lines:[\s\S]*about to fail/);
        });

        it("reports an image that cannot be pulled, with what to do", async () => {
            await rejects(image.provider.create({ docker: local, name: "noteshub-provtest-missing:v9.9.9" }), /^docker: pull image noteshub-provtest-missing:v9\.9\.9: [\s\S]*\n {2}-> /);
        });
    });

    describe("container", () => {
        it("creates a running, hardened container with its labels and environment", async () => {
            const c = await container.provider.create(spec("c1"));
            const info = JSON.parse(docker("inspect", c.id))[0];
            assert.equal(info.State.Running, true);
            assert.equal(info.Name, `/${n("c1")}`);
            assert.ok(info.Config.Env.includes("GREETING=hi"));
            assert.equal(info.Config.Labels["io.noteshub.owner"], owner);
            assert.deepEqual(info.HostConfig.CapDrop, ["ALL"]);
            assert.deepEqual(info.HostConfig.SecurityOpt, ["no-new-privileges:true"]);
            assert.equal(info.HostConfig.Privileged, false);
            assert.equal(info.HostConfig.RestartPolicy.Name, "unless-stopped", "restarts once it has proven it starts");
            await container.provider.delete(c.id, c.outs);
            assert.ok(!dockerOk("inspect", n("c1")));
            await container.provider.delete(c.id, c.outs); // gone already: fine
        });

        it("diffs: any spec change replaces (old one first), the wait timeout changes in place", async () => {
            const olds = { ...spec("c1"), containerId: "x" };
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1", { env: { GREETING: "hello" } })), { changes: true, replaces: ["env"], deleteBeforeReplace: true });
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1", { imageId: "other" })), { changes: true, replaces: ["imageId"], deleteBeforeReplace: true });
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1", { readyTimeoutSec: 5 })), { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1")), { changes: false, replaces: [], deleteBeforeReplace: false });
        });

        it("replaces its own leftover of an interrupted run, never someone else's container", async () => {
            const first = await container.provider.create(spec("c2"));
            const second = await container.provider.create(spec("c2"));
            assert.notEqual(second.id, first.id);
            assert.ok(!dockerOk("inspect", first.id));
            await container.provider.delete(second.id, second.outs);
            docker("run", "-d", "--name", n("foreign"), "debian:bookworm-slim", "sleep", "infinity");
            await rejects(container.provider.create(spec("foreign")), /a container with this name exists and is not managed by noteshub-provtest; rename or remove it/);
            assert.equal(docker("inspect", "-f", "{{.State.Running}}", n("foreign")), "true", "foreign container untouched");
        });

        it("fails with the logs when the process exits, and keeps nothing", async () => {
            const msg = await rejects(container.provider.create(spec("crash", { command: ["sh", "-c", "echo database refused to start >&2; exit 3"] })),
                /^docker: start container noteshub-provtest-crash: container noteshub-provtest-crash exited with code 3/);
            assert.match(msg, /last log lines:\n {4}database refused to start/);
            assert.match(msg, /nothing was kept; fix the cause and run pulumi up again$/);
            assert.ok(!dockerOk("inspect", n("crash")));
        });

        it("fails when the healthcheck never passes, naming the last check, and keeps nothing", async () => {
            const msg = await rejects(container.provider.create(spec("sick", {
                readyTimeoutSec: 3,
                healthcheck: { test: ["CMD-SHELL", "echo not ready yet; exit 1"], intervalMs: 500, timeoutMs: 1000, retries: 1, startPeriodMs: 0 },
            })), /container noteshub-provtest-sick not healthy after 3s \(health: (unhealthy|starting), last check: not ready yet\)/);
            assert.ok(msg);
            assert.ok(!dockerOk("inspect", n("sick")));
        });

        it("names a host port that is already taken, and keeps nothing", async () => {
            const port = await freePort();
            const holder: Server = createServer().listen(port, "127.0.0.1");
            try {
                await rejects(container.provider.create(spec("port", { ports: [{ container: 80, host: port, hostIp: "127.0.0.1" }] })),
                    new RegExp(`^docker: start container noteshub-provtest-port: [\\s\\S]*\\n {2}-> host port ${port} is already in use`));
                assert.ok(!dockerOk("inspect", n("port")));
            } finally {
                holder.close();
            }
        });
    });

    describe("preflight", () => {
        it("passes when the engine answers and the ports are free", async () => {
            const port = await freePort();
            await preflight.provider.create({ docker: local, ports: [{ container: n("lb"), hostIp: "127.0.0.1", port, configKey: "loadBalancer.port" }] });
        });

        it("stops on an unreachable engine before anything is touched", async () => {
            await rejects(preflight.provider.create({ docker: { host: "unix:///tmp/noteshub-no-docker.sock" }, ports: [] }),
                /^docker: reach engine: [\s\S]*\n {2}-> the Docker engine at unix:\/\/\/tmp\/noteshub-no-docker\.sock is not reachable/);
        });

        it("names the container or process holding a port, and the config key to change", async () => {
            const port = await freePort();
            docker("run", "-d", "--name", n("holder"), "-p", `127.0.0.1:${port}:80`, "debian:bookworm-slim", "sleep", "infinity");
            await rejects(preflight.provider.create({ docker: local, ports: [{ container: n("lb"), hostIp: "127.0.0.1", port, configKey: "loadBalancer.port" }] }),
                new RegExp(`^preflight: host port ${port} \\(loadBalancer\\.port\\) is published by container noteshub-provtest-holder; stop it or set another port: pulumi config set --path 'loadBalancer\\.port' <free port>\\. Nothing was changed\\.$`));
            // The stack's own container holding its port is fine (an existing stack).
            await preflight.provider.create({ docker: local, ports: [{ container: n("holder"), hostIp: "127.0.0.1", port, configKey: "loadBalancer.port" }] });
            docker("rm", "-f", n("holder"));
            const other = await freePort();
            const srv = createServer().listen(other, "127.0.0.1");
            try {
                await rejects(preflight.provider.create({ docker: local, ports: [{ container: n("lb"), hostIp: "127.0.0.1", port: other, configKey: "database.hostPort" }] }),
                    new RegExp(`^preflight: host port 127\\.0\\.0\\.1:${other} \\(database\\.hostPort\\) is in use on this machine`));
            } finally {
                srv.close();
            }
        });
    });
});
