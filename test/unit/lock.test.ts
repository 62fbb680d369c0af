// The command lock under a real race (issue #13): processes that call lockStack at the same instant, many rounds,
// with and without a dead holder's lock left behind: exactly one wins each round, and a release never removes a
// lock another process holds.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";

const LOCK = resolve(__dirname, "../../cli/lock.ts");
const dir = mkdtempSync(join(tmpdir(), "noteshub-lockrace-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One contender: says it is ready, spins until the start file appears, tries the lock, holds it a moment. */
const CONTENDER = `
const { existsSync } = require("node:fs");
const { lockStack } = require(${JSON.stringify(LOCK)});
const [dir, stack, go] = process.argv.slice(1);
process.stdout.write("ready\\n");
while (!existsSync(go)) {}
try {
    const l = lockStack(dir, stack, "race " + process.pid);
    process.stdout.write("won");
    setTimeout(() => l.release(), 1000);
} catch (e) {
    process.stdout.write(e.constructor.name === "BusyError" ? "busy" : "error " + e.message);
}`;

/** Six contenders released at one instant (once every one of them is spinning); what each says. */
async function round(stack: string, n: number): Promise<string[]> {
    const go = join(dir, `${stack}.go`);
    let ready = 0;
    let start!: () => void;
    const allReady = new Promise<void>((r) => (start = r));
    const runs = Array.from({ length: n }, () => new Promise<string>((resolveRun) => {
        const child = spawn("node", ["--import", "tsx", "-e", CONTENDER, dir, stack, go], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d) => {
            out += d;
            if (out.startsWith("ready\n") && !(child as { counted?: boolean }).counted) {
                (child as { counted?: boolean }).counted = true;
                if (++ready === n) start();
            }
        });
        child.on("close", () => resolveRun(out.replace("ready\n", "")));
    }));
    await allReady;
    writeFileSync(go, "");
    return Promise.all(runs);
}

describe("lockStack under a real race", { timeout: 5 * 60_000 }, () => {
    it("six processes at the same instant: exactly one wins, every round", async () => {
        for (let r = 0; r < 10; r++) {
            const outs = await round(`fresh${r}`, 6);
            assert.deepEqual(outs.sort(), ["busy", "busy", "busy", "busy", "busy", "won"], `round ${r}`);
        }
    });

    it("six processes at a dead holder's lock: exactly one takes it over, every round", async () => {
        for (let r = 0; r < 10; r++) {
            const stack = `stale${r}`;
            writeFileSync(join(dir, `${stack}.lock`), JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), command: "deploy v9.9.9", startedAt: "then" }));
            const outs = await round(stack, 6);
            assert.deepEqual(outs.sort(), ["busy", "busy", "busy", "busy", "busy", "won"], `round ${r}`);
        }
    });
});
