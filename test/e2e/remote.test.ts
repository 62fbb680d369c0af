// Production for real (issue #14): a remote Docker host (an engine in its own network namespace with its own
// address) reached over ssh:// (a real sshd; the host key checked against known_hosts) and over tcp:// with mutual
// TLS; release images built here, pushed to a registry (TLS, htpasswd) by `noteshub release`, pulled by the host by
// digest; the FerretDB image stands in for mongo:7.0, pushed and pinned the same way. The stack is never converged
// before a measurement: hey runs from a second before the first step to a second after the last, from this machine
// to the host's address, as a user's requests would come.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { readLog } from "../../cli/log";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, engineError } from "../../infra/docker/engine";
import { productionValues } from "../helpers/config";
import { heyDuring, type HeyResult } from "../helpers/load";
import { pushAs, startRegistry, type TestRegistry } from "../helpers/registry";
import { http, ROOT, TestStack, type CliRun } from "../helpers/stack";
import { hostDocker, knownHostsFile, loadImages, startTestHost, stopTestHost, type TestHost } from "../helpers/testhost";

const STACK = "e2e-remote";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a remote Docker host over ssh and mutual TLS (real sshd, an engine in its own namespace)", { timeout: 30 * 60_000 }, () => {
    let host: TestHost;
    let registry: TestRegistry;
    let stack: TestStack;
    let url = "";
    let knownHosts = "";
    const hostState = () => hostDocker(host, "ps", "-a", "--format", "{{.Names}}") + hostDocker(host, "volume", "ls", "-q") + hostDocker(host, "network", "ls", "-q", "--filter", "type=custom");
    const cli = async (...args: string[]): Promise<CliRun> => {
        const r = await stack.noteshub(...args).done;
        assert.equal(r.code, 0, `noteshub ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
        return r;
    };
    const underLoad = (what: string, steps: () => Promise<void>): Promise<HeyResult> => heyDuring(`${url}/api/notes`, what, steps);

    before(async () => {
        host = startTestHost("e2e-r", 1);
        // A fresh host has no images: the base its balancer is built from comes as a pull from Docker Hub would bring it.
        loadImages(host, "debian:bookworm-slim");
        registry = await startRegistry("10.77.0.1", 5443);
        // The database image, pushed and pinned as an operator pins the official mongo:7.0.
        execFileSync("docker", ["build", "-q", "-t", `noteshub-${STACK}-mongo:7.0`, join(ROOT, "images/ferretdb")], { stdio: "ignore" });
        const dbDigest = pushAs(registry, `noteshub-${STACK}-mongo:7.0`, `${registry.addr}/library/mongo:7.0`);
        execFileSync("docker", ["rmi", `noteshub-${STACK}-mongo:7.0`], { stdio: "ignore" });
        // Production as the README walks it, on the test host and registry: nothing released yet (no app.digests).
        stack = new TestStack(STACK, productionValues({
            // The drill's switches (a file in the container) let the watch test make the live colour sick at run time.
            app: { repository: `${registry.addr}/noteshub/noteshub-api`, env: { NOTESHUB_DRILL_DIR: "/tmp/noteshub-drill" } },
            release: { context: "examples/noteshub-api" },
            database: { image: `${registry.addr}/library/mongo:7.0@${dbDigest}` },
            loadBalancer: { port: 8080, bindAddress: "0.0.0.0" },
            monitoring: { stepSec: 1, watchSec: 1, statusEverySec: 2, triggers: { health: { failures: 3, intervalSec: 1 } } },
            docker: { host: `ssh://${host.sshUser}@${host.addr}`, knownHosts: join(host.dir, "none"), identityFile: host.sshKey },
        }));
        stack.init({ "database.password": "e2e-password-0123", "registry.password": registry.password });
        stack.must("config", "set", "--path", "registry.username", registry.username);
        knownHosts = join(stack.stateDir, "known_hosts");
        url = `http://${host.addr}:8080`;
    });
    after(() => {
        try {
            stack?.dispose();
            // What `noteshub release` built here (as it would on an operator's machine), and nothing else: its tags
            // untagged by name. Never `rmi -f <id>`: the same context builds the same image id for another suite's
            // stack running beside this one, and a forced removal by id takes that stack's tags with it.
            const built = execFileSync("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=${registry.addr}/*/*`], { encoding: "utf8" }).split("\n").filter(Boolean);
            if (built.length) execFileSync("docker", ["rmi", ...new Set(built)], { stdio: "ignore" });
        } finally {
            try {
                registry?.stop();
            } finally {
                stopTestHost(host);
            }
        }
    });

    it("production refuses retained versions that were never released, before anything changes", () => {
        knownHostsFile(knownHosts, host);
        stack.must("config", "set", "--path", "docker.knownHosts", knownHosts);
        const r = stack.up();
        assert.notEqual(r.code, 0);
        for (const v of ["v1.0.1", "v1.0.0", "v0.9.0"]) {
            assert.match(r.stdout + r.stderr, new RegExp(`noteshub:app\\.digests\\.${v.replace(/\./g, "\\.")}: retained version ${v.replace(/\./g, "\\.")} has no released digest`));
        }
        assert.equal(hostState(), "", "nothing was created on the host");
    });

    it("noteshub release builds here, pushes, records the digest; a released version is never released again", async () => {
        for (const v of ["v0.9.0", "v1.0.0", "v1.0.1"]) {
            const r = await cli("release", v);
            assert.match(r.json.digest, /^sha256:[0-9a-f]{64}$/);
            assert.equal(r.json.image, `${registry.addr}/noteshub/noteshub-api@${r.json.digest}`);
            console.log(`# release ${v}: ${r.json.seconds} s`);
        }
        const digests = JSON.parse(stack.must("config", "get", "--path", "app.digests").stdout) as Record<string, string>;
        assert.deepEqual(Object.keys(digests).sort(), ["v0.9.0", "v1.0.0", "v1.0.1"]);
        const again = await stack.noteshub("release", "v1.0.1").done;
        assert.equal(again.code, 2, again.stderr);
        assert.match(again.stderr, /v1\.0\.1 is released already as .*@sha256:[0-9a-f]{64} \(noteshub:app\.digests\); a version is immutable: release the new build as a new version/);
    });

    it("an unknown ssh host key is refused before anything changes, with its fingerprint and how to add it", () => {
        writeFileSync(knownHosts, "");
        stack.must("config", "set", "--path", "docker.knownHosts", knownHosts);
        const r = stack.up();
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, new RegExp(`the ssh host key of ${host.addr.replace(/\./g, "\\.")} is unknown: it offers SHA256:[A-Za-z0-9+/]{43} and ${knownHosts} has no line for it, so nothing was sent to it\\. .*then add it: ssh-keyscan ${host.addr.replace(/\./g, "\\.")} >> ${knownHosts}`));
        assert.equal(hostState(), "", "nothing was created on the host");
    });

    it("a changed ssh host key is refused, naming the line it contradicts", () => {
        const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq2mBQVDzmWKeyG5C9oXcY0pT2wJ4kLnTq5a8P1f6fv";
        writeFileSync(knownHosts, `# ours\n${host.addr} ${other}\n`);
        const r = stack.up();
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, new RegExp(`the ssh host key of ${host.addr.replace(/\./g, "\\.")} CHANGED: it offers SHA256:\\S+, which is not the key ${knownHosts} holds for it \\(line 2\\)\\. Someone may be in the middle`));
        assert.equal(hostState(), "", "nothing was created on the host");
    });

    it("first up on an empty engine over ssh, images pulled from the registry: the url names the host, users reach it from outside", async () => {
        knownHostsFile(knownHosts, host);
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        console.log(`# first up on the remote host over ssh: ${r.ms} ms`);
        const out = stack.outputs();
        assert.equal(out.url, url);
        const health = await http(`${url}/health`);
        assert.equal(health.status, 200);
        assert.equal(health.body.version, "v1.0.0");
        assert.equal(health.body.checks.database, "ok");
        assert.match(hostDocker(host, "ps", "--format", "{{.Names}}"), new RegExp(`noteshub-${STACK}-blue`), "the containers run on the remote host");
        const again = stack.up();
        assert.equal(again.code, 0, again.stdout + again.stderr);
        console.log(`# no-change up over ssh: ${again.ms} ms`);
    });

    it("noteshub release + deploy of a new version from the registry on the remote host: 0 failed from outside", async () => {
        const unreleased = await stack.noteshub("deploy", "v1.1.0").done;
        assert.equal(unreleased.code, 2, unreleased.stderr);
        assert.match(unreleased.stderr, /v1\.1\.0 has not been released \(no noteshub:app\.digests\["v1\.1\.0"\]\): production runs only released bytes; release it first: npm run noteshub -- release v1\.1\.0 --stack e2e-remote/);
        await underLoad("remote release + deploy v1.1.0", async () => {
            await cli("release", "v1.1.0");
            const r = await cli("deploy", "v1.1.0");
            console.log(`# deploy v1.1.0 on the remote host: ${(r.ms / 1000).toFixed(1)} s`);
        });
        const h = await http(`${url}/health`);
        assert.deepEqual([h.headers.get("x-noteshub-color"), h.body.version], ["green", "v1.1.0"]);
        const digest = (JSON.parse(stack.must("config", "get", "--path", "app.digests").stdout) as Record<string, string>)["v1.1.0"];
        assert.match(hostDocker(host, "image", "inspect", "-f", "{{json .RepoDigests}}", `noteshub-${STACK}/noteshub-api:v1.1.0`), new RegExp(`@${digest}`), "the host pulled the released digest");
    });

    let imagesBefore = "";
    const hostImages = () => hostDocker(host, "images", "-q", "--no-trunc").split("\n").sort().join(" ");

    it("an immediate rollback on the remote host: 0 failed from outside, nothing pulled", async () => {
        imagesBefore = hostImages();
        await underLoad("remote immediate rollback", async () => {
            const r = await cli("rollback");
            console.log(`# immediate rollback on the remote host: ${(r.ms / 1000).toFixed(1)} s`);
        });
        const h = await http(`${url}/health`);
        assert.deepEqual([h.headers.get("x-noteshub-color"), h.body.version], ["blue", "v1.0.0"], "back on the colour and version that served before the deploy");
        assert.equal(hostImages(), imagesBefore, "the rollback pulled nothing");
    });

    // After the immediate rollback: blue (v1.0.0) live, green (v1.1.0) idle. (With both colours on one version an
    // automatic rollback has nowhere to go: it says so and a human decides.)
    it("a watch trigger on the remote host: the live colour's health failing rolls it back, the watcher reading it over ssh", async () => {
        const failHealth = (color: string, on: boolean) =>
            hostDocker(host, "exec", `noteshub-${STACK}-${color}`, "sh", "-c", on ? "mkdir -p /tmp/noteshub-drill && touch /tmp/noteshub-drill/fail-health" : "rm -f /tmp/noteshub-drill/fail-health");
        const live = async () => ((await http(`${url}/lb/status`)).body as { active: string }).active;
        assert.equal(await live(), "blue");
        const w = stack.noteshub("watch", "--for", "90", "--every", "1");
        let said = "";
        w.child.stderr!.on("data", (d) => (said += d));
        try {
            await sleep(5000); // its first probes and access-log reads are in
            const failedAt = Date.now();
            failHealth("blue", true);
            let movedAt = 0;
            while (!movedAt && Date.now() - failedAt < 40_000) {
                if ((await live()) === "green") movedAt = Date.now();
                else await sleep(100);
            }
            assert.ok(movedAt, `traffic never moved to green; the watcher said:\n${said}`);
            console.log(`# watch trigger (health, 3 x 1 s) on the remote host: traffic on green ${((movedAt - failedAt) / 1000).toFixed(1)} s after blue began failing`);
            for (const until = Date.now() + 60_000; !readLog(stack.logFile).some((e) => e.event === "command-finished" && e.what === "rollback (trigger health)"); ) {
                assert.ok(Date.now() < until, `the watcher's rollback was never recorded; it said:\n${said}`);
                await sleep(200);
            }
        } finally {
            w.child.kill("SIGINT");
            failHealth("blue", false);
        }
        const r = await w.done;
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.json.actions.map((a: { trigger: { trigger: string } }) => a.trigger.trigger), ["health"]);
        const h = await http(`${url}/health`);
        assert.deepEqual([h.headers.get("x-noteshub-color"), h.body.version], ["green", "v1.1.0"], "back on the release the operator had rolled back from: blue is the sick one now");
    });

    it("a standard rollback with downs on the remote host: 0 failed from outside, the schema goes back", async () => {
        assert.equal(stack.outputs().schema, 2);
        await underLoad("remote standard rollback to v1.0.0", async () => {
            const r = await cli("rollback", "--to", "v1.0.0");
            console.log(`# standard rollback (002's down) on the remote host: ${(r.ms / 1000).toFixed(1)} s`);
        });
        assert.equal(stack.outputs().schema, 1, "002's down ran");
        const h = await http(`${url}/health`);
        assert.deepEqual([h.headers.get("x-noteshub-color"), h.body.version], ["blue", "v1.0.0"]);
    });

    it("an emergency rollback on the remote host: the other colour restarted there, all traffic to it", async () => {
        const other = (await http(`${url}/health`)).headers.get("x-noteshub-color") === "green" ? "blue" : "green";
        const before = hostDocker(host, "inspect", "-f", "{{.State.StartedAt}}", `noteshub-${STACK}-${other}`);
        const r = await cli("rollback", "--emergency");
        console.log(`# emergency rollback on the remote host: ${(r.ms / 1000).toFixed(1)} s`);
        assert.match(r.stderr, new RegExp(`emergency: restarting noteshub-${STACK}-${other}`));
        assert.notEqual(hostDocker(host, "inspect", "-f", "{{.State.StartedAt}}", `noteshub-${STACK}-${other}`), before, "restarted on the host");
        const h = await http(`${url}/health`);
        assert.deepEqual([h.headers.get("x-noteshub-color"), h.body.version], [other, "v1.0.0"]);
    });

    it("database-not-exposed holds on the host: no database port is published or listened on there", () => {
        assert.equal(hostDocker(host, "inspect", "-f", "{{json .HostConfig.PortBindings}}", `noteshub-${STACK}-db`), "{}");
        const listening = execFileSync("ip", ["netns", "exec", `nht-${host.name}`, "ss", "-Hltn"], { encoding: "utf8" });
        assert.doesNotMatch(listening, /:27017\b/, listening);
        assert.match(listening, new RegExp(`${host.addr.replace(/\./g, "\\.")}:22\\b|\\*:8080\\b|0\\.0\\.0\\.0:8080\\b`), listening);
    });

    it("an image the host lost is pulled again by the same digest, the same bytes", () => {
        // v1.0.1 is retained but runs nowhere now: as if someone pruned it on the host.
        const tag = `noteshub-${STACK}/noteshub-api:v1.0.1`;
        const id = hostDocker(host, "image", "inspect", "-f", "{{.Id}}", tag);
        hostDocker(host, "rmi", "-f", id);
        assert.notEqual(hostImages(), imagesBefore);
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(hostDocker(host, "image", "inspect", "-f", "{{.Id}}", tag), id, "the same image id: the recorded digest's bytes");
        assert.equal(hostImages(), imagesBefore);
    });

    it("tcp:// with mutual TLS reaches the same engine; a client without the CA's certificate is refused", async () => {
        const conn = { host: `tcp://${host.addr}:2376`, tlsCertDir: host.tlsClientDir };
        const names = (await connect(conn).listContainers()).map((c) => c.Names[0]);
        assert.ok(names.includes(`/noteshub-${STACK}-lb`), names.join(", "));
        // The engine's own CA but no client certificate of it: the handshake fails, nothing is listed.
        const { mkdtempSync, copyFileSync } = await import("node:fs");
        const stranger = mkdtempSync(join(stack.stateDir, "stranger-"));
        copyFileSync(join(host.tlsClientDir, "ca.pem"), join(stranger, "ca.pem"));
        execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=stranger", "-keyout", join(stranger, "key.pem"), "-out", join(stranger, "cert.pem")], { stdio: "ignore" });
        await assert.rejects(connect({ ...conn, tlsCertDir: stranger }).listContainers(), (err: unknown) => {
            assert.match(engineError("list", "containers", conn, err).message, /^docker: list containers: .*(certificate|alert|handshake|socket hang up|ECONNRESET)/i);
            return true;
        });
        // Plain tcp:// to a TLS engine: refused by the engine, and by config in production (test/unit/config.test.ts).
        await assert.rejects(connect({ host: `tcp://${host.addr}:2376` }).listContainers());
    });

    it("destroy keeps the data on the host; the next up finds it", async () => {
        const note = await http(`${url}/api/notes`, { method: "POST", body: JSON.stringify({ title: "kept on the remote host", department: "ops", year: 2026 }) });
        assert.equal(note.status, 201, JSON.stringify(note.body));
        const d = stack.pulumiWith({ NOTESHUB_ALLOW_OUTAGE: "1" }, ROOT, "destroy", "--yes", "--skip-preview");
        assert.equal(d.code, 0, d.stdout + d.stderr);
        assert.equal(hostDocker(host, "ps", "-aq", "--filter", `label=io.noteshub.stack=${STACK}`), "", "no container of the stack is left");
        assert.match(hostDocker(host, "volume", "ls", "-q"), new RegExp(`noteshub-${STACK}-dbdata`));
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const back = await http(`${url}/api/notes/${note.body._id}`);
        assert.equal(back.status, 200);
        assert.equal(back.body.title, "kept on the remote host");
    });
});
