// What serves users is never touched (issue #12, INVARIANTS 2 and 4), measured from outside on the paths users take:
// hey (200 requests/s on 10 keep-alive connections) runs from before the first step of each path to after its last,
// on a staging-shaped stack that is never converged first. Real pulumi, Automation API, Docker, nginx, FerretDB.
// The path, in order (each starts from where the one before left the stack):
//   1-3. `noteshub deploy <new version>` (default steps, the retained list shifts) with the live colour on
//        `previous`, on `current`, and right after a `rollback`;
//   4.   requests in flight finish when their colour loses its share, and when an idle colour is replaced;
//   5.   the live version's tag rebuilt: refused at preview with both image ids, nothing replaced;
//   6.   the policy (and the provider on its own) refuse at preview an update that would replace the live colour;
//   6b.  and the policy one that would delete it (its resource renamed); the provider refuses at up;
//   7.   the app's source changed: nothing that runs changes; the new build goes out only as a new version;
//   8.   a new balancer image: a new nginx instance takes over;
//   9.   another stack's whole life on the same engine (what `npm test` does beside a user's stack), then a flip.
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { heyDuring, type HeyResult } from "../helpers/load";
import { docker, programCopy, ROOT, startTestStack, type CliRun, type TestStack } from "../helpers/stack";

const STACK = "e2e-live";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("what serves users is never touched: zero failed requests on every real path (hey, real engine)", { timeout: 40 * 60_000 }, () => {
    let stack: TestStack;
    let url = "";
    const copies: string[] = [];
    /** Every container of the stack by name, and every image tag it built, with their ids. */
    const containers = () => Object.fromEntries(docker("ps", "-a", "--format", "{{.Names}} {{.ID}}", "--filter", `label=io.noteshub.stack=${STACK}`).split("\n").filter(Boolean).map((l) => l.split(" ")));
    const images = () => Object.fromEntries(docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "--filter", `reference=noteshub-${STACK}/*`).split("\n").filter(Boolean).map((l) => l.split(" ")));
    const cli = async (root: string, ...args: string[]): Promise<CliRun> => {
        const r = await stack.noteshubIn(root, ...args).done;
        assert.equal(r.code, 0, `noteshub ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
        return r;
    };
    /** Runs `steps` with hey on the balancer from a second before to a second after; nothing may fail. */
    const underLoad = (what: string, steps: () => Promise<void>): Promise<HeyResult> => heyDuring(`${url}/api/notes`, what, steps);
    const served = async (path = "/") => {
        const res = await fetch(`${url}${path}`, { headers: { connection: "close" } });
        return { status: res.status, color: res.headers.get("x-noteshub-color"), version: res.headers.get("x-app-version"), source: res.headers.get("x-source"), body: await res.text() };
    };

    before(async () => {
        ({ stack, url } = await startTestStack(STACK, {
            // Each traffic step is watched stepSec (default 60 s) and 100 % watchSec (30 min); the triggers have their own suite.
            monitoring: { stepSec: 1, watchSec: 1 },
            app: { repository: "noteshub-api", build: "examples/noteshub-api", env: { NOTESHUB_TEST_DELAYS: "1" } },
        }));
    });
    after(() => {
        stack?.dispose();
        for (const c of copies) rmSync(c, { recursive: true, force: true });
    });

    it("1. deploy v1.1.0 with the live colour on `previous` (as a rollback leaves it): 0 failed, the live colour untouched", async () => {
        const before = containers();
        await underLoad("deploy v1.1.0, live blue on previous", async () => void await cli(ROOT, "deploy", "v1.1.0"));
        assert.equal(containers()[`noteshub-${STACK}-blue`], before[`noteshub-${STACK}-blue`], "blue served until it lost its share, then kept running");
        assert.deepEqual([(await served()).color, (await served()).version], ["green", "v1.1.0"]);
    });

    it("2. deploy v1.2.0 with the live colour on `current`: 0 failed, the live colour untouched", async () => {
        const before = containers();
        await underLoad("deploy v1.2.0, live green on current", async () => void await cli(ROOT, "deploy", "v1.2.0"));
        assert.equal(containers()[`noteshub-${STACK}-green`], before[`noteshub-${STACK}-green`]);
        assert.deepEqual([(await served()).color, (await served()).version], ["blue", "v1.2.0"]);
    });

    it("3. rollback, then deploy v1.3.0 (the release after a bad one): 0 failed from the rollback to the last step", async () => {
        await underLoad("rollback + deploy v1.3.0", async () => {
            await cli(ROOT, "rollback");
            assert.equal((await served()).version, "v1.1.0");
            await cli(ROOT, "deploy", "v1.3.0");
        });
        assert.deepEqual([(await served()).color, (await served()).version], ["blue", "v1.3.0"]);
    });

    it("4. a request in flight finishes when its colour loses its share, and when that idle colour is then replaced", async () => {
        // blue (v1.3.0) serves. A 5 s request, then an immediate rollback moves traffic to green while it runs.
        const slow = served("/api/notes?delay_ms=5000");
        await sleep(500);
        await cli(ROOT, "rollback");
        const first = await slow;
        assert.deepEqual([first.status, first.color], [200, "blue"], first.body);
        // green serves now: a 30 s request on it, traffic back to blue, then green is replaced while it still runs.
        const long = served("/api/notes?delay_ms=30000");
        const started = Date.now();
        await sleep(500);
        await cli(ROOT, "rollback");
        stack.must("config", "set", "greenVersion", "v1.2.0");
        const up = stack.up();
        assert.equal(up.code, 0, up.stdout + up.stderr);
        const second = await long;
        assert.deepEqual([second.status, second.color], [200, "green"], second.body);
        assert.ok(Date.now() - started >= 30_000, "it ran its full 30 s: the old green drained before it stopped");
        assert.equal(docker("exec", `noteshub-${STACK}-green`, "printenv", "APP_VERSION"), "1.2.0");
        assert.equal((await served()).color, "blue");
    });

    it("5. the live version's tag rebuilt: preview and up refuse with both ids, nothing is replaced, 0 failed", async () => {
        const tag = `noteshub-${STACK}/noteshub-api:v1.3.0`;
        const pinned = images()[tag];
        const before = containers();
        await underLoad("live tag rebuilt, then preview and up", async () => {
            const rebuilt = docker("build", "-q", "--no-cache", "-t", tag, "--build-arg", "APP_VERSION=v1.3.0", join(ROOT, "examples/noteshub-api"));
            assert.notEqual(rebuilt, pinned);
            for (const r of [stack.pulumi("preview", "--policy-pack", join(ROOT, "policy")), stack.up()]) {
                assert.notEqual(r.code, 0);
                assert.match(r.stdout + r.stderr, new RegExp(`image ${tag} \\(retained version v1\\.3\\.0\\): the tag now points at ${rebuilt}, but this stack built and recorded ${pinned}\\. A retained version is immutable: release the new build as a new version`));
            }
            docker("tag", pinned, tag); // the fix the message gives
            docker("rmi", rebuilt);
        });
        assert.deepEqual(containers(), before, "nothing was replaced");
        const ok = stack.up();
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.deepEqual(containers(), before);
    });

    it("6. an update that would replace the live colour is refused at preview (by the policy, and by the provider alone), and a forced replace at up", async () => {
        const config = readFileSync(stack.configFile, "utf8");
        stack.must("config", "set", "--path", "app.env.FEATURE_X", "on");
        try {
            const withPack = stack.pulumi("preview", "--policy-pack", join(ROOT, "policy"));
            assert.notEqual(withPack.code, 0);
            assert.match(withPack.stdout, /\[mandatory\]\s+live-colour-untouched\s+\(pulumi-nodejs:dynamic\/docker:Container: blue-container\)/);
            assert.match(withPack.stdout, /container noteshub-e2e-live-blue: colour blue has 100 % of traffic, and this update would replace its container \(changed: env\.FEATURE_X\)\. Fix: give the new setting to a new version/);
            const alone = stack.pulumi("preview");
            assert.notEqual(alone.code, 0);
            assert.match(alone.stdout + alone.stderr, /docker: replace container noteshub-e2e-live-blue: colour blue has 100 % of traffic/);
        } finally {
            writeFileSync(stack.configFile, config);
        }
        // `--replace` skips the provider's diff: the delete that comes first refuses instead, and nothing changes.
        const before = containers();
        const urn = stack.must("stack", "--show-urns").stdout.split("\n").map((l) => /(urn:pulumi:\S+::blue-container)\b/.exec(l)?.[1]).find(Boolean)!;
        const forced = stack.up("--replace", urn);
        assert.notEqual(forced.code, 0);
        assert.match(forced.stdout + forced.stderr, /docker: remove container noteshub-e2e-live-blue: colour blue has 100 % of traffic, so stopping it would drop requests/);
        assert.deepEqual(containers(), before);
        assert.equal((await served()).color, "blue");
    });

    it("6b. an update that would delete the live colour's containers (their resource renamed) is refused at preview by the policy, and at up: 0 failed", async () => {
        const copy = programCopy(STACK, (dir) => {
            const index = join(dir, "infra/index.ts");
            const text = readFileSync(index, "utf8");
            assert.match(text, /new AppColor\(color, \{/);
            writeFileSync(index, text.replace("new AppColor(color, {", 'new AppColor(color === "blue" ? "blue-moved" : color, {'));
        });
        copies.push(copy);
        const before = containers();
        const preview = stack.pulumiIn(copy, "preview", "--policy-pack", join(ROOT, "policy"));
        assert.notEqual(preview.code, 0, preview.stdout);
        assert.match(preview.stdout, /\[mandatory\]\s+serving-containers-kept/);
        for (const part of ["blue", "blue-addr"]) {
            assert.match(preview.stdout, new RegExp(`container noteshub-${STACK}-${part}: colour blue.* has 100 % of traffic, and this update would delete it \\(no resource declares urn:pulumi:${STACK}::noteshub::noteshub:app:Color\\$pulumi-nodejs:dynamic/docker:Container::blue-(container|address) any more\\)`));
        }
        assert.doesNotMatch(preview.stdout, /container noteshub-e2e-live-green/, "the idle colour may go");
        await underLoad("up of a program that would delete the live colour", async () => {
            const up = stack.pulumiIn(copy, "up", "--yes", "--skip-preview", "--policy-pack", join(ROOT, "policy"));
            assert.notEqual(up.code, 0, up.stdout);
            assert.match(up.stdout + up.stderr, /container noteshub-e2e-live-blue(-addr)?: colour blue has 100 % of traffic, so stopping it would drop requests/);
        });
        assert.deepEqual(containers(), before);
        assert.equal((await served()).color, "blue");
        // The program as it was: the renamed (empty) component the failed up recorded goes, nothing that runs changes.
        const again = stack.up();
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.deepEqual(containers(), before);
    });

    it("7. the app's source changed: nothing that runs changes; the new build goes out only as a new version", async () => {
        const copy = programCopy(STACK, (dir) => {
            const bundle = join(dir, "examples/noteshub-api/dist/server.js");
            const code = readFileSync(bundle, "utf8");
            assert.ok(code.includes('res.setHeader("x-app-color", color);'));
            writeFileSync(bundle, code.replace('res.setHeader("x-app-color", color);', 'res.setHeader("x-app-color", color);\n  res.setHeader("x-source", "changed");'));
        });
        copies.push(copy);
        const [beforeC, beforeI] = [containers(), images()];
        await underLoad("source changed: up, then deploy v1.4.0", async () => {
            const up = stack.pulumiIn(copy, "up", "--yes", "--skip-preview", "--policy-pack", join(ROOT, "policy"));
            assert.equal(up.code, 0, up.stdout + up.stderr);
            assert.deepEqual([containers(), images()], [beforeC, beforeI], "no image rebuilt, no container replaced");
            await cli(copy, "deploy", "v1.4.0", "--steps", "100");
        });
        // The copy's command wrote the stack's config there: this checkout declares the same from now on.
        writeFileSync(stack.configFile, readFileSync(join(copy, `Pulumi.${STACK}.yaml`), "utf8"));
        const now = await served();
        assert.deepEqual([now.color, now.version, now.source], ["green", "v1.4.0", "changed"]);
        assert.equal(containers()[`noteshub-${STACK}-blue`], beforeC[`noteshub-${STACK}-blue`], "the colour that served during the deploy was never touched");
        for (const v of ["v1.3.0", "v1.2.0"]) assert.equal(images()[`noteshub-${STACK}/noteshub-api:${v}`], beforeI[`noteshub-${STACK}/noteshub-api:${v}`], `${v} still runs its own bytes`);
    });

    it("8. a new balancer image goes live through a new nginx instance: 0 failed; holders and colours untouched", async () => {
        const copy = programCopy(STACK, (dir) => writeFileSync(join(dir, "images/nginx/nginx.conf"), readFileSync(join(ROOT, "images/nginx/nginx.conf"), "utf8") + "# a new balancer image\n"));
        copies.push(copy);
        const before = containers();
        const instance = (c: Record<string, string>) => Object.keys(c).filter((n) => /-lb-[0-9a-f]{10}$/.test(n));
        await underLoad("balancer upgrade and back", async () => {
            for (const root of [copy, ROOT]) {
                const r = stack.pulumiIn(root, "up", "--yes", "--skip-preview", "--policy-pack", join(ROOT, "policy"));
                assert.equal(r.code, 0, r.stdout + r.stderr);
                assert.equal(instance(containers()).length, 1, "the old instance is gone");
            }
        });
        const now = containers();
        assert.notDeepEqual(instance(now), [], "an instance serves");
        for (const part of ["lb", "blue", "green", "blue-addr", "green-addr", "db"]) assert.equal(now[`noteshub-${STACK}-${part}`], before[`noteshub-${STACK}-${part}`], part);
    });

    it("9. another stack's whole life on the same engine (as npm test) changes none of this stack's images; then a flip: 0 failed", async () => {
        const [beforeC, beforeI] = [containers(), images()];
        const { stack: next } = await startTestStack(`${STACK}-next`);
        const built = docker("images", "--format", "{{.Repository}}", "--filter", `reference=noteshub-${STACK}-next/*`).split("\n").filter(Boolean);
        assert.ok(built.length >= 5, `the other stack built its own images: ${built.join(", ")}`);
        next.dispose();
        assert.deepEqual([containers(), images()], [beforeC, beforeI]);
        await underLoad("flip after another stack's life", async () => {
            for (const color of ["blue", "green"]) {
                stack.must("config", "set", "activeColor", color);
                const r = stack.up();
                assert.equal(r.code, 0, r.stdout + r.stderr);
            }
        });
        assert.deepEqual(containers(), beforeC);
    });
});
