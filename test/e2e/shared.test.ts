// State the whole rota shares (issue #14), against a real S3 server (MinIO) and Pulumi's S3 backend:
//   1. the command lock in the bucket under a real race: processes at one instant, many rounds, exactly one wins;
//      a holder paused past its lease is taken over by exactly one, and on waking neither renews nor releases it;
//   2. the deployment log appended by processes at once loses no entry;
//   3. two operators, two clones, two state directories, one backend: the second's command is refused while the
//      first's runs, naming it and who runs it; then the second's clone, hours behind, plans from what runs
//      (declared keys and released digests taken from the last update) and both see one log.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseBackend, type S3Backend } from "../../cli/backend";
import { BusyError } from "../../cli/lock";
import { s3Client } from "../../cli/s3";
import { lockStackS3 } from "../../cli/s3Lock";
import { startMinio, type TestS3 } from "../helpers/minio";
import { stagingValues } from "../helpers/config";
import { freePort, http, programCopy, pulumiFailure, purgeDockerLeftovers, ROOT, TestStack } from "../helpers/stack";

const CLI = resolve(__dirname, "../../cli");

/** A contender: says it is ready, spins until the start file appears, tries the lock, then does what it is told. */
const CONTENDER = `
const { existsSync } = require("node:fs");
const { parseBackend } = require(${JSON.stringify(join(CLI, "backend.ts"))});
const { s3Client } = require(${JSON.stringify(join(CLI, "s3.ts"))});
const { lockStackS3 } = require(${JSON.stringify(join(CLI, "s3Lock.ts"))});
const [url, stack, go, holdMs, leaseSec] = process.argv.slice(1);
const s3 = s3Client(parseBackend(url));
process.stdout.write("ready\\n");
while (go && !existsSync(go)) {}
lockStackS3(s3, ".noteshub/locks/" + stack + ".json", stack, "race " + process.pid, {
    who: "op" + process.pid, where: stack, leaseSec: Number(leaseSec), renewMs: 500,
    onLost: (by) => process.stdout.write(" lost-to " + (by ? by.command : "?")),
}).then((l) => {
    process.stdout.write(l.tookOver ? "took-over " + l.tookOver.command : "won");
    const release = () => l.release().then(() => process.stdout.write(" released"));
    // holdMs < 0: hold until the test says (a file beside the start file), so a slow contender cannot try after it.
    if (Number(holdMs) >= 0) setTimeout(release, Number(holdMs));
    else { const t = setInterval(() => { if (existsSync(go + ".release")) { clearInterval(t); release(); } }, 50); }
}, (e) => process.stdout.write(e.constructor.name === "BusyError" ? "busy" : "error " + e.message));`;

interface Contender {
    readonly pid: number;
    /** Resolves once it is spinning, waiting for the start file. */
    readonly ready: Promise<void>;
    readonly out: () => string;
    readonly done: Promise<string>;
}

function contender(s3: TestS3, stack: string, go: string, holdMs: number, leaseSec = 60): Contender {
    const child = spawn("node", ["--import", "tsx", "-e", CONTENDER, s3.url, stack, go, String(holdMs), String(leaseSec)], { env: { ...process.env, ...s3.env }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    child.stdout.on("data", (d) => {
        out += d;
        if (out.startsWith("ready\n")) ready();
    });
    return { pid: child.pid!, ready: isReady, out: () => out.replace("ready\n", ""), done: new Promise((r) => child.on("close", () => r(out.replace("ready\n", "")))) };
}

const until = async (what: string, ok: () => boolean, ms = 20_000) => {
    for (const end = Date.now() + ms; !ok(); ) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
};

describe("state the rota shares: lock and log in the state's S3 bucket (real MinIO)", { timeout: 10 * 60_000 }, () => {
    let s3: TestS3;
    const dir = mkdtempSync(join(tmpdir(), "noteshub-shared-"));
    before(async () => {
        s3 = await startMinio();
    });
    after(async () => {
        await s3?.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    it("1a. six processes at one instant, ten rounds: exactly one wins each round", async () => {
        for (let r = 0; r < 10; r++) {
            const go = join(dir, `go${r}`);
            const all = Array.from({ length: 6 }, () => contender(s3, `fresh${r}`, go, -1));
            await Promise.all(all.map((c) => c.ready)); // every one of them is spinning
            writeFileSync(go, "");
            // The winner holds until every contender has had its answer (on a busy machine one may try seconds late).
            await until("every contender's answer", () => all.every((c) => c.out() !== ""), 60_000);
            writeFileSync(`${go}.release`, "");
            const outs = await Promise.all(all.map((c) => c.done));
            assert.deepEqual(outs.map((o) => o.replace(" released", "")).sort(), ["busy", "busy", "busy", "busy", "busy", "won"], `round ${r}: ${JSON.stringify(outs)}`);
            assert.ok(outs.some((o) => o === "won released"), "the winner let go");
        }
    });

    it("1b. a holder paused past its lease: exactly one of six takes it over; awake again, it neither renews nor releases it", async () => {
        const client = s3Client(parseBackend(s3.url) as S3Backend, { ...process.env, ...s3.env });
        const key = ".noteshub/locks/paused.json";
        const holder = contender(s3, "paused", "", 60_000, 3);
        await until("the holder", () => holder.out() === "won");
        process.kill(holder.pid, "SIGSTOP"); // alive, but renews nothing: a laptop lid closed, a VM paused
        try {
            // Asked at once, here (a new process can take seconds to start on a busy machine: past the lease).
            await assert.rejects(lockStackS3(client, key, "paused", "early", { who: "t", where: key, leaseSec: 3 }), (e: Error) => e instanceof BusyError, "within its lease a paused holder keeps the lock");
            await new Promise((res) => setTimeout(res, 3500));
            const go = join(dir, "go-paused");
            const six = Array.from({ length: 6 }, () => contender(s3, "paused", go, 4000, 3));
            await Promise.all(six.map((c) => c.ready));
            writeFileSync(go, "");
            await until("a takeover", () => six.some((c) => c.out().startsWith("took-over")));
            const taker = JSON.parse((await client.get(key))!.body);
            process.kill(holder.pid, "SIGCONT");
            await until("the old holder to notice", () => holder.out().includes("lost-to"));
            assert.equal(JSON.parse((await client.get(key))!.body).token, taker.token, "the woken holder did not write over the new one");
            const outs = await Promise.all(six.map((c) => c.done));
            assert.deepEqual(outs.map((o) => o.split(" ")[0]).sort(), ["busy", "busy", "busy", "busy", "busy", "took-over"], JSON.stringify(outs));
            assert.match(holder.out(), /^won lost-to race \d+$/);
        } finally {
            process.kill(holder.pid, "SIGCONT");
            process.kill(holder.pid, "SIGKILL");
        }
        assert.equal(await client.get(key), undefined, "the new holder released it");
    });

    it("2. four processes appending ten entries each at once: all forty are in the log, each one's in order", async () => {
        const script = `
const { parseBackend } = require(${JSON.stringify(join(CLI, "backend.ts"))});
const { recordsFor } = require(${JSON.stringify(join(CLI, "records.ts"))});
const r = recordsFor(parseBackend(process.argv[1]), "logged", () => "w" + process.pid, () => {});
for (let i = 0; i < 10; i++) r.append({ stack: "logged", who: "w" + process.pid, command: "c", event: "step", what: String(i), why: "test", ok: true });
r.flush().then(() => process.stdout.write("ok"), (e) => process.stdout.write("error " + e.message));`;
        const runs = Array.from({ length: 4 }, () => new Promise<string>((res) => {
            const c = spawn("node", ["--import", "tsx", "-e", script, s3.url], { env: { ...process.env, ...s3.env }, stdio: ["ignore", "pipe", "inherit"] });
            let out = "";
            c.stdout.on("data", (d) => (out += d));
            c.on("close", () => res(out));
        }));
        assert.deepEqual(await Promise.all(runs), ["ok", "ok", "ok", "ok"]);
        const { recordsFor } = await import("../../cli/records");
        const entries = await recordsFor(parseBackend(s3.url), "logged", () => "t", () => undefined, { ...process.env, ...s3.env }).read();
        assert.equal(entries.length, 40);
        const byWriter = new Map<string, string[]>();
        for (const e of entries) byWriter.set(e.who, [...(byWriter.get(e.who) ?? []), e.what]);
        assert.equal(byWriter.size, 4);
        for (const whats of byWriter.values()) assert.deepEqual(whats, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    });

    describe("3. two operators, two clones, two Pulumi homes, one S3 backend (real pulumi, Docker, nginx, FerretDB)", () => {
        const STACK = "e2e-shared";
        let stack: TestStack;
        let cloneB = "";
        let url = "";
        const alice = (...args: string[]) => stack.noteshubWith({ NOTESHUB_ACTOR: "alice@laptop" }, ROOT, ...args);
        const bob = (...args: string[]) => stack.noteshubWith({ NOTESHUB_ACTOR: "bob@desk", PULUMI_HOME: join(dir, "bob-home") }, cloneB, ...args);
        const served = async () => (await http(`${url}/`)).body as { version: string; color: string };

        before(async () => {
            purgeDockerLeftovers(STACK);
            const port = await freePort();
            url = `http://127.0.0.1:${port}`;
            stack = new TestStack(STACK, stagingValues({ loadBalancer: { port }, monitoring: { stepSec: 1, watchSec: 1 } }), { PULUMI_BACKEND_URL: s3.url, ...s3.env });
            stack.init({ "database.password": "e2e-password-0123" });
            const r = stack.up();
            if (r.code !== 0) throw new Error(pulumiFailure(`pulumi up of ${STACK}`, r));
            // Bob cloned the repo before Alice's deploy: his Pulumi.<stack>.yaml is this one, and it stays so.
            cloneB = programCopy(STACK, () => undefined);
        });
        after(() => {
            stack?.dispose();
            if (cloneB) rmSync(cloneB, { recursive: true, force: true });
        });

        it("Bob's rollback while Alice deploys is refused, naming her command; nothing of his ran", async () => {
            const deploying = alice("deploy", "v1.1.0", "--pause", "3", "--watch", "0");
            let progress = "";
            deploying.child.stderr!.on("data", (d) => (progress += d));
            await until("alice's deploy to start its first step", () => /step 1\/5/.test(progress), 120_000);
            const refused = await bob("rollback").done;
            assert.equal(refused.code, 3, refused.stderr);
            assert.match(refused.stderr, /stack e2e-shared is busy: `noteshub deploy v1\.1\.0 --pause 3 --watch 0` \(alice@laptop, pid \d+ on [^,]+, started [^,]+, lease renewed [^)]+\) is running\./);
            const r = await deploying.done;
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(await served(), { service: "noteshub-api", version: "v1.1.0", color: "green" } as never);
            assert.match(readFileSync(join(cloneB, `Pulumi.${STACK}.yaml`), "utf8"), /noteshub:activeColor: "?blue"?/, "Bob's clone is behind");
        });

        it("Bob's clone, behind, plans from what runs: his rollback takes the last update's keys and moves traffic off Alice's release", async () => {
            const r = await bob("rollback").done;
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, /Pulumi\.e2e-shared\.yaml was behind the stack; taken from its last update:\n {2}activeColor: "blue" here, "green" in update \d+/);
            assert.match(r.stderr, /greenVersion: "v1\.0\.1" here, "v1\.1\.0" in update/);
            assert.deepEqual((await served()).color, "blue", "immediate rollback: back to the colour Alice's release replaced");
            const s = (await alice("status").done).json;
            assert.deepEqual([s.activeColor, s.colours.green.version, s.traffic], ["blue", "v1.1.0", { blue: 100, green: 0 }], "Alice's clone sees Bob's rollback too");
        });

        it("one log for the rota: both clones read every command, with who ran it", async () => {
            for (const run of [alice, bob]) {
                const entries = (await run("log", "--last", "500").done).json as { who: string; command: string; event: string }[];
                const starts = entries.filter((e) => e.event === "command-started").map((e) => [e.who, e.command]);
                assert.deepEqual(starts, [["alice@laptop", "deploy v1.1.0 --pause 3 --watch 0"], ["bob@desk", "rollback"]]);
            }
        });
    });
});
