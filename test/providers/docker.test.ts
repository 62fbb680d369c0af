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
import { fingerprint } from "../../policy/liveSpec";
import { docker, dockerOk, freePort, purgeDockerLeftovers } from "../helpers/stack";

const STACK = "provtest";
const local = { host: "unix:///var/run/docker.sock" };
const labels = { "io.noteshub.project": "noteshub", "io.noteshub.stack": STACK };
const owner = `noteshub-${STACK}`;
const n = (part: string) => `noteshub-${STACK}-${part}`;
/** Containers are created from the pinned image id, not the tag. */
const DEBIAN = docker("image", "inspect", "-f", "{{.Id}}", "debian:bookworm-slim");

function spec(part: string, over: Partial<Parameters<typeof container.provider.create>[0]> = {}): Parameters<typeof container.provider.create>[0] {
    return {
        docker: local, owner, name: n(part), image: "debian:bookworm-slim", imageId: DEBIAN,
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
        for (const c of ["foreign", "holder", "lbh", "lbh2"]) if (dockerOk("inspect", n(c))) docker("rm", "-f", n(c));
        for (const i of ["noteshub-provtest/img:1", "noteshub-provtest/keep:1", "noteshub-provtest-new/img:1", "noteshub-provtest-bad:1"]) if (dockerOk("image", "inspect", i)) docker("rmi", "-f", i);
    });

    describe("volume", () => {
        it("creates, adopts an existing one, and never removes it on delete", async () => {
            const v = await volume.provider.create({ docker: local, name: n("vol"), labels });
            assert.equal(v.id, n("vol"));
            docker("run", "--rm", "-v", `${n("vol")}:/d`, "debian:bookworm-slim", "sh", "-c", "echo kept > /d/f");
            const again = await volume.provider.create({ docker: local, name: n("vol"), labels });
            assert.equal(again.id, v.id);
            await volume.provider.delete(v.id, v.outs);
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
        const TAG = "noteshub-provtest/img:1";
        after(() => rmSync(dir, { recursive: true, force: true }));
        const build = (msg: string) => {
            writeFileSync(join(dir, "Dockerfile"), "FROM debian:bookworm-slim\nCOPY msg /msg\n");
            writeFileSync(join(dir, "msg"), msg);
            return { docker: local, name: TAG, build: buildFrom(dir), removeOnDelete: true, purpose: "retained version v1" };
        };

        it("pins what it first built: a changed context rebuilds nothing, a moved tag is refused with both ids", async () => {
            const first = await image.provider.create(build("one"));
            assert.match(first.outs.imageId, /^sha256:/);
            const changed = build("two");
            assert.equal((await image.provider.diff("id", first.outs, changed)).changes, false, "new source goes out as a new version");
            const moved = docker("build", "-q", "--no-cache", "-t", TAG, dir);
            const msg = await rejects(image.provider.diff("id", first.outs, changed), /^docker: image noteshub-provtest\/img:1 \(retained version v1\): the tag now points at sha256:/);
            assert.equal(msg, `docker: ${image.movedTagError(first.outs, moved)}`);
            assert.match(msg, new RegExp(`but this stack built and recorded ${first.outs.imageId}\\. A retained version is immutable: release the new build as a new version .* put the tag back: docker tag ${first.outs.imageId} noteshub-provtest/img:1\\. Nothing was changed\\.$`));
            docker("tag", first.outs.imageId, TAG); // the fix the message gives
            assert.equal((await image.provider.diff("id", first.outs, changed)).changes, false);
            assert.equal(docker("run", "--rm", first.outs.imageId, "cat", "/msg"), "one");
            docker("rmi", moved);
        });

        it("puts a lost tag back on the pinned image, keeps the bytes under a new tag, never blocks on a lost build, untags only its own", async () => {
            const pinned = await image.provider.create(build("three"));
            docker("tag", pinned.outs.imageId, "noteshub-provtest/keep:1"); // so the image outlives its tag
            docker("rmi", TAG);
            assert.deepEqual(await image.provider.diff("id", pinned.outs, build("four")), { changes: true, replaces: [] });
            const restored = await image.provider.update("id", pinned.outs, build("four"));
            assert.equal(restored.outs.imageId, pinned.outs.imageId);
            assert.equal(docker("image", "inspect", "-f", "{{.Id}}", TAG), pinned.outs.imageId, "the same bytes under the tag again");
            // The same image under another prefix (the tag scheme changed): the recorded bytes get it, nothing is built.
            const renamed = { ...build("five"), name: "noteshub-provtest-new/img:1" };
            assert.deepEqual(await image.provider.diff("id", restored.outs, renamed), { changes: true, replaces: [] });
            const moved = await image.provider.update("id", restored.outs, renamed);
            assert.deepEqual([moved.outs.name, moved.outs.imageId], ["noteshub-provtest-new/img:1", pinned.outs.imageId]);
            assert.equal(docker("image", "inspect", "-f", "{{.Id}}", "noteshub-provtest-new/img:1"), pinned.outs.imageId);
            // Another tag is another image: a new version, never the old bytes under a new name.
            assert.deepEqual((await image.provider.diff("id", restored.outs, { ...build("five"), name: "noteshub-provtest/img:2" })).replaces, ["name"]);
            docker("rmi", TAG, "noteshub-provtest/keep:1", "noteshub-provtest-new/img:1"); // now the host has lost the image itself
            // Nothing blocks on it (a flip must still run); the container that would need it says so when created.
            assert.deepEqual(await image.provider.diff("id", pinned.outs, build("four")), { changes: false, replaces: [] });
            await rejects(container.provider.create(spec("lost", { image: TAG, imageId: pinned.outs.imageId })),
                /^docker: create container noteshub-provtest-lost: image noteshub-provtest\/img:1: the Docker host no longer has the image this stack built and recorded \(sha256:[0-9a-f]+\), and building today's source again would run other bytes .* npm run pulumi -- up --replace <its image's urn>/);
            // Delete untags the image only while the tag is still this resource's.
            const own = await image.provider.create(build("six"));
            const other = docker("build", "-q", "--no-cache", "-t", TAG, dir);
            await image.provider.delete("id", own.outs);
            assert.equal(docker("image", "inspect", "-f", "{{.Id}}", TAG), other, "a replacement's tag stays");
            await image.provider.delete("id", { ...own.outs, imageId: other });
            assert.ok(!dockerOk("image", "inspect", TAG));
        });

        it("diffs: another source, identity or build of it replaces", async () => {
            const olds = { ...build("x"), imageId: "sha256:a" };
            assert.deepEqual(await image.provider.diff("id", olds, { ...build("x"), build: { ...build("x").build, args: { APP_VERSION: "v2" } } }), { changes: true, replaces: ["build"], deleteBeforeReplace: false });
            assert.deepEqual(await image.provider.diff("id", { ...olds, build: undefined, source: "mongo:7.0" }, { ...olds, build: undefined, source: "mongo:8.0" }), { changes: true, replaces: ["source"], deleteBeforeReplace: false });
            assert.deepEqual(await image.provider.diff("id", { ...olds, identity: "aaa" }, { ...build("x"), identity: "bbb" }), { changes: true, replaces: ["identity"], deleteBeforeReplace: false });
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

        it("diffs: any spec change replaces (old one first); how it waits and stops, its guard and start-time env don't", async () => {
            const olds = { ...spec("c1"), containerId: "x" };
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1", { env: { GREETING: "hello" } })), { changes: true, replaces: ["env"], deleteBeforeReplace: true });
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1", { imageId: "other" })), { changes: true, replaces: ["imageId"], deleteBeforeReplace: true });
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1", { readyTimeoutSec: 5, stopTimeoutSec: 30 })), { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1", { startEnv: { PREVIOUS_VERSION: "0.9.0" } })), { changes: false, replaces: [], deleteBeforeReplace: false });
            assert.deepEqual(await container.provider.diff("x", olds as never, spec("c1")), { changes: false, replaces: [], deleteBeforeReplace: false });
            // One that hands over is replaced new-first (its name carries what it runs).
            const handover = { group: n("g"), drain: ["true"], connections: ["echo", "0"], drainSec: 1 };
            assert.deepEqual(await container.provider.diff("x", { ...olds, handover } as never, spec("c1", { handover, imageId: "other" })), { changes: true, replaces: ["imageId"], deleteBeforeReplace: false });
        });

        it("stops a retired container in place and starts the same one again; a made-anew retired one is created, not started", async () => {
            const c = await container.provider.create(spec("ret", { command: ["sh", "-c", "echo started; sleep infinity"] }));
            const running = () => JSON.parse(docker("inspect", c.id))[0].State.Running as boolean;
            assert.deepEqual(await container.provider.diff("x", c.outs as never, spec("ret", { command: c.outs.command, stopped: true })), { changes: true, replaces: [], deleteBeforeReplace: false }, "retiring is no replacement");
            const stopped = await container.provider.update(c.id, c.outs, { ...c.outs, stopped: true });
            assert.equal(running(), false);
            assert.match(docker("logs", c.id), /started/, "its logs stay");
            const started = await container.provider.update(c.id, stopped.outs as never, { ...c.outs, stopped: undefined });
            assert.equal(running(), true, "the same container runs again");
            // What Pulumi's wire format (protobuf Struct) can carry: no undefined anywhere in the outputs.
            for (const outs of [stopped.outs, started.outs]) assert.deepEqual(Object.entries(outs).filter(([, v]) => v === undefined), []);
            await container.provider.delete(c.id, c.outs);
            const fresh = await container.provider.create(spec("ret", { stopped: true }));
            assert.equal(JSON.parse(docker("inspect", fresh.id))[0].State.Status, "created");
            // A rerun with it still there adopts it as it is (no second container, still not started).
            const again = await container.provider.create(spec("ret", { stopped: true }));
            assert.equal(again.id, fresh.id);
            assert.equal(JSON.parse(docker("inspect", fresh.id))[0].State.Status, "created");
            // Made with no restart policy (as create makes every container until it proves it starts); started
            // again, it gets the spec's, so a crash or a daemon restart brings it back.
            const policy = () => JSON.parse(docker("inspect", fresh.id))[0].HostConfig.RestartPolicy.Name as string;
            assert.equal(policy(), "no");
            await container.provider.update(fresh.id, again.outs, { ...again.outs, stopped: undefined });
            assert.deepEqual([JSON.parse(docker("inspect", fresh.id))[0].State.Running, policy()], [true, "unless-stopped"]);
            await container.provider.delete(fresh.id, fresh.outs);
        });

        it("runs within its limits and read-only root; new limits apply in place (same process), one that would starve it is refused", async () => {
            // bash holds 80 MB in a variable (and stays, looping): a limit below that would kill it.
            const c = await container.provider.create(spec("lim", {
                command: ["bash", "-c", "x=$(printf %080000000d 0); touch /tmp/ready; while :; do sleep 3600; done"],
                readyExec: ["test", "-f", "/tmp/ready"],
                limits: { memoryMb: 256, cpus: 0.5, pids: 64 }, readOnlyRoot: { tmpfs: ["/tmp"] },
            }));
            const host = () => JSON.parse(docker("inspect", c.id))[0].HostConfig;
            const started = () => JSON.parse(docker("inspect", c.id))[0].State.StartedAt as string;
            assert.deepEqual([host().Memory, host().NanoCpus, host().PidsLimit, host().ReadonlyRootfs], [256 * 1024 * 1024, 5e8, 64, true]);
            assert.ok(!dockerOk("exec", c.id, "touch", "/etc/x"), "the root filesystem is read-only");
            assert.ok(dockerOk("exec", c.id, "touch", "/tmp/x"), "its /tmp is a scratch tmpfs");
            assert.equal(docker("exec", c.id, "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max").trim(), "64", "the kernel enforces it (cgroup v1 or v2)");
            // Limits and the read-only root never replace it; limits change in place.
            const raised = spec("lim", { command: c.outs.command, readyExec: c.outs.readyExec, limits: { memoryMb: 512, cpus: 1, pids: 128 }, readOnlyRoot: undefined });
            assert.deepEqual(await container.provider.diff(c.id, c.outs as never, raised), { changes: true, replaces: [], deleteBeforeReplace: false });
            const before = started();
            const up = await container.provider.update(c.id, c.outs, raised as never);
            assert.deepEqual([host().Memory, host().NanoCpus, host().PidsLimit, started()], [512 * 1024 * 1024, 1e9, 128, before], "the same process, new limits");
            assert.equal(JSON.parse(docker("inspect", c.id))[0].State.Running, true);
            await rejects(container.provider.diff(c.id, up.outs as never, { ...raised, limits: { memoryMb: 64, cpus: 1, pids: 128 } }),
                /^docker: update the limits of container noteshub-provtest-lim: memoryMb 64 leaves no room: it uses \d+ MB now \(at least \d+\)\. Fix: raise it in stack config/);
            await rejects(container.provider.diff(c.id, up.outs as never, { ...raised, limits: { memoryMb: 512, cpus: 1, pids: 1 } }), /pids 1 is not more than the \d+ it runs now/);
            assert.equal(host().Memory, 512 * 1024 * 1024, "a refused diff changed nothing");
            await container.provider.delete(c.id, c.outs);
        });

        it("writes its files before it starts, sets its start-time env, labels its fingerprint, waits for readyExec", async () => {
            const c = await container.provider.create(spec("c3", {
                command: ["sh", "-c", "sleep 1; cp /etc/noteshub-test.conf /tmp/ready; sleep infinity"],
                files: [{ path: "/etc/noteshub-test.conf", content: "routes v1\n" }],
                startEnv: { PREVIOUS_VERSION: "0.9.0" },
                readyExec: ["test", "-f", "/tmp/ready"],
            }));
            assert.equal(docker("exec", c.id, "cat", "/tmp/ready"), "routes v1", "the file was there when it started; ready only once it ran");
            assert.equal(docker("exec", c.id, "printenv", "PREVIOUS_VERSION"), "0.9.0");
            const label = JSON.parse(docker("inspect", "-f", "{{index .Config.Labels \"io.noteshub.spec\"}}", c.id));
            assert.deepEqual(label, fingerprint(c.outs as never));
            assert.equal(label["env.PREVIOUS_VERSION"], undefined, "fixed at start: not part of what it is compared by");
            await rejects(container.provider.create(spec("c4", { readyExec: ["sh", "-c", "echo not yet; exit 1"], readyTimeoutSec: 2 })),
                /container noteshub-provtest-c4 not ready after 2s \(health: sh -c echo not yet; exit 1, last check: not yet\)/);
            assert.ok(!dockerOk("inspect", n("c4")));
            await container.provider.delete(c.id, c.outs);
        });

        it("refuses to remove, or sweep aside as a leftover, a container whose colour serves; NOTESHUB_ALLOW_OUTAGE=1 lets it", async () => {
            const lb = n("lbh2");
            docker("run", "-d", "--name", lb, "--label", `io.noteshub.stack=${STACK}`, "debian:bookworm-slim", "sh", "-c",
                `mkdir -p /var/lib/noteshub/state && echo '{"weights":{"blue":100,"green":0}}' > /var/lib/noteshub/state/state.json && sleep infinity`);
            for (let i = 0; i < 50 && !dockerOk("exec", lb, "test", "-f", "/var/lib/noteshub/state/state.json"); i++) await new Promise((r) => setTimeout(r, 100));
            const guard = { color: "blue", what: "colour blue", balancer: lb, share: 100, running: null, allowOutage: false };
            const live = await container.provider.create(spec("blue2", { guard }));
            await rejects(container.provider.delete(live.id, live.outs), /^docker: remove container noteshub-provtest-blue2: colour blue has 100 % of traffic, so stopping it would drop requests\. To take the stack down anyway \(pulumi destroy\) or replace it by force, run that one command with NOTESHUB_ALLOW_OUTAGE=1/);
            // A renamed resource, or a state that lost track: a leftover that serves under this name is not swept aside.
            await rejects(container.provider.create(spec("blue2", { guard, env: { OTHER: "1" } })), /replace the leftover container noteshub-provtest-blue2: colour blue has 100 % of traffic/);
            assert.equal(docker("inspect", "-f", "{{.State.Running}}", live.id), "true", "still serving");
            process.env.NOTESHUB_ALLOW_OUTAGE = "1";
            try {
                await container.provider.delete(live.id, live.outs);
            } finally {
                delete process.env.NOTESHUB_ALLOW_OUTAGE;
            }
            assert.ok(!dockerOk("inspect", live.id));
            docker("rm", "-f", lb);
        });

        it("adopts its own leftover that runs the same spec, replaces one that doesn't, never touches someone else's", async () => {
            const first = await container.provider.create(spec("c2"));
            const adopted = await container.provider.create(spec("c2"));
            assert.equal(adopted.id, first.id, "a rerun after a crash changes nothing that runs");
            const second = await container.provider.create(spec("c2", { env: { GREETING: "hello" } }));
            assert.notEqual(second.id, first.id);
            assert.ok(!dockerOk("inspect", first.id));
            await container.provider.delete(second.id, second.outs);
            docker("run", "-d", "--name", n("foreign"), "debian:bookworm-slim", "sleep", "infinity");
            await rejects(container.provider.create(spec("foreign")), /a container with this name exists and is not managed by noteshub-provtest; rename or remove it/);
            assert.equal(docker("inspect", "-f", "{{.State.Running}}", n("foreign")), "true", "foreign container untouched");
        });

        it("refuses at diff to replace a container whose colour has a share in the live traffic state", async () => {
            // A stand-in for the balancer's holder: the traffic state in the file the real one keeps.
            const lb = n("lbh");
            docker("run", "-d", "--name", lb, "--label", `io.noteshub.stack=${STACK}`, "debian:bookworm-slim", "sh", "-c",
                `mkdir -p /var/lib/noteshub/state && echo '{"weights":{"blue":90,"green":10}}' > /var/lib/noteshub/state/state.json && sleep infinity`);
            for (let i = 0; i < 50 && !dockerOk("exec", lb, "test", "-f", "/var/lib/noteshub/state/state.json"); i++) await new Promise((r) => setTimeout(r, 100));
            const guard = (color: string, o: Record<string, unknown> = {}) => ({ color, what: `colour ${color}`, balancer: lb, share: null, running: null, allowOutage: false, ...o });
            const olds = { ...spec("blue"), containerId: "x" };
            const msg = await rejects(container.provider.diff("x", olds as never, spec("blue", { imageId: "sha256:new", guard: guard("green") })),
                /^docker: replace container noteshub-provtest-blue: colour green has 10 % of traffic, and this update would replace its container \(changed: imageId\)\./);
            assert.match(msg, /Nothing was changed\.$/);
            await rejects(container.provider.diff("x", olds as never, spec("blue", { env: { A: "1" }, guard: guard("*", { what: "the database" }) })),
                /the database serves traffic, and this update would replace its container \(changed: env\.A, env\.GREETING\)/);
            // Idle, or an outage the operator accepted, or a value not known yet (preview): the replacement goes ahead.
            docker("exec", lb, "sh", "-c", `echo '{"weights":{"blue":100,"green":0}}' > /var/lib/noteshub/state/state.json`);
            assert.deepEqual((await container.provider.diff("x", olds as never, spec("blue", { imageId: "sha256:new", guard: guard("green") }))).replaces, ["imageId"]);
            assert.deepEqual((await container.provider.diff("x", olds as never, spec("blue", { imageId: "sha256:new", guard: guard("blue", { allowOutage: true }) }))).replaces, ["imageId"]);
            assert.deepEqual((await container.provider.diff("x", olds as never, spec("blue", { imageId: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", guard: guard("blue") }))).replaces, ["imageId"]);
            await rejects(container.provider.diff("x", olds as never, spec("blue", { imageId: "sha256:new", guard: guard("blue") })), /colour blue has 100 % of traffic/);
            // A state that can't be read while the balancer runs: assume traffic.
            docker("exec", lb, "sh", "-c", "echo 'half a fi' > /var/lib/noteshub/state/state.json");
            await rejects(container.provider.diff("x", olds as never, spec("blue", { imageId: "sha256:new", guard: guard("blue") })), /colour blue may have traffic \(its traffic state could not be read\)/);
            // No balancer running: nothing is served.
            docker("rm", "-f", lb);
            assert.deepEqual((await container.provider.diff("x", olds as never, spec("blue", { imageId: "sha256:new", guard: guard("blue") }))).replaces, ["imageId"]);
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
            })), /container noteshub-provtest-sick not ready after 3s \(health: (unhealthy|starting), last check: (not ready yet|Health check exceeded timeout \(1s\))\)/);
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

        it("refuses a CPU limit above the Docker host's CPUs, naming the config key", async () => {
            const ncpu = Number(docker("info", "-f", "{{.NCPU}}"));
            await preflight.provider.create({ docker: local, ports: [], cpus: [{ cpus: ncpu, configKey: "app.limits.cpus" }] });
            await rejects(preflight.provider.create({ docker: local, ports: [], cpus: [{ cpus: ncpu + 1, configKey: "database.limits.cpus" }] }),
                new RegExp(`^preflight: database\\.limits\\.cpus is ${ncpu + 1} CPUs, but the Docker host has ${ncpu}; fix: pulumi config set --path 'database\\.limits\\.cpus' ${ncpu}\\. Nothing was changed\\.$`));
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
