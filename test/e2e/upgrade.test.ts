// Upgrading noteshub-deploy under a stack that serves (issue #12 and #13): a stack made by the program as it was
// before least privilege and limits (commit BEFORE) is taken over by today's program while hey runs, and nothing that
// serves is replaced: the preview shows no replacement, the containers keep their ids, the colours that run with the
// root login keep it until their next container, new limits apply in place. A deploy then starts the new version with
// the app's own login and a read-only root. Real pulumi, Docker, nginx, FerretDB; the old program from git history.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, linkSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stagingValues } from "../helpers/config";
import { heyDuring } from "../helpers/load";
import { docker, freePort, purgeDockerLeftovers, ROOT, TestStack } from "../helpers/stack";

const STACK = "e2e-upgrade";
/** The last commit before the app's own login, limits and read-only roots: the program stacks were made by. */
const BEFORE = "0cbb58e";

describe("upgrading the program under a stack that serves (hey, real engine)", { timeout: 20 * 60_000 }, () => {
    let stack: TestStack;
    let old = "";
    let url = "";
    const containers = () => Object.fromEntries(docker("ps", "-a", "--format", "{{.Names}} {{.ID}}", "--filter", `label=io.noteshub.stack=${STACK}`).split("\n").filter(Boolean).map((l) => l.split(" ")));
    const inspect = (part: string) => JSON.parse(docker("inspect", `noteshub-${STACK}-${part}`))[0];
    const login = (part: string) => /^MONGODB_URI=mongodb:\/\/([^:]+):/m.exec((inspect(part).Config.Env as string[]).join("\n"))![1];

    before(async () => {
        // The old program, as it was committed (a clone with history has it; a shallow one fails here, loudly).
        old = mkdtempSync(join(tmpdir(), "noteshub-program-before-"));
        execFileSync("bash", ["-c", `git -C "${ROOT}" archive ${BEFORE} | tar -x -C "${old}"`]);
        symlinkSync(join(ROOT, "node_modules"), join(old, "node_modules"));
        linkSync(join(ROOT, "images/ferretdb/ferretdb"), join(old, "images/ferretdb/ferretdb"));
        execFileSync("node", ["scripts/build-app.mjs"], { cwd: old, stdio: "ignore" });
        purgeDockerLeftovers(STACK);
        const port = await freePort();
        url = `http://127.0.0.1:${port}/api/notes`;
        stack = new TestStack(STACK, stagingValues({ loadBalancer: { port }, monitoring: { stepSec: 1, watchSec: 1 } }));
        stack.init({ "database.password": "e2e-password-0123" });
        copyFileSync(stack.configFile, join(old, `Pulumi.${STACK}.yaml`));
        const r = stack.pulumiIn(old, "up", "--yes", "--skip-preview");
        assert.equal(r.code, 0, r.stdout + r.stderr);
    });
    after(() => {
        stack?.dispose();
        if (old) rmSync(old, { recursive: true, force: true });
    });

    it("today's program takes the stack over: the preview replaces nothing, up and two flips drop nothing, every container stays", async () => {
        const before = containers();
        assert.equal(login("blue"), "noteshub", "the old program gave the app the root login");
        await heyDuring(url, "upgrade: preview, up, two flips", async () => {
            const preview = stack.pulumi("preview", "--policy-pack", join(ROOT, "policy"));
            assert.equal(preview.code, 0, preview.stdout + preview.stderr);
            assert.doesNotMatch(preview.stdout, /replace|delete/, "nothing that runs is replaced or deleted");
            const up = stack.up();
            assert.equal(up.code, 0, up.stdout + up.stderr);
            for (const color of ["green", "blue"]) {
                stack.must("config", "set", "activeColor", color);
                const r = stack.up();
                assert.equal(r.code, 0, r.stdout + r.stderr);
            }
        });
        assert.deepEqual(containers(), before);
        assert.deepEqual([login("blue"), login("green")], ["noteshub", "noteshub"], "each colour keeps the login it was made with");
        // Limits reached the running containers in place; the read-only root waits for a new container.
        assert.deepEqual([inspect("blue").HostConfig.Memory, inspect("blue").HostConfig.PidsLimit, inspect("blue").HostConfig.ReadonlyRootfs], [512 * 1024 * 1024, 256, false]);
        assert.equal(inspect("db").HostConfig.Memory, 2048 * 1024 * 1024);
        const again = stack.pulumi("preview", "--policy-pack", join(ROOT, "policy"), "--expect-no-changes");
        assert.equal(again.code, 0, again.stdout + again.stderr);
    });

    it("the next release starts with the app's own login and a read-only root; the live colour is untouched: 0 failed", async () => {
        const blue = containers()[`noteshub-${STACK}-blue`];
        await heyDuring(url, "upgrade: then deploy v1.1.0", async () => {
            const r = await stack.noteshub("deploy", "v1.1.0").done;
            assert.equal(r.code, 0, r.stdout + r.stderr);
        });
        assert.equal(containers()[`noteshub-${STACK}-blue`], blue);
        assert.equal(login("green"), "noteshub-app");
        assert.doesNotMatch((inspect("green").Config.Env as string[]).join("\n"), /e2e-password-0123/);
        assert.equal(inspect("green").HostConfig.ReadonlyRootfs, true);
    });
});
