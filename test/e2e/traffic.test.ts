// Moving traffic under keep-alive load (issue #6, INVARIANTS 2), through the real pulumi CLI, Docker and nginx:
// 10 colour switches, a full gradual shift 10 -> 25 -> 50 -> 100 % and an immediate rollback, each with wrk
// hammering the balancer, drop no request. The shift splits by weight and keeps a client on its colour.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startLoad, type LoadResult } from "../helpers/load";
import { http, TestStack, startTestStack } from "../helpers/stack";

const STACK = "e2e-traffic";

describe("traffic moves without dropping a request (real pulumi, Docker, nginx, wrk)", { timeout: 20 * 60_000 }, () => {
    let stack: TestStack;
    let url = "";
    const declare = (values: Record<string, string>) => {
        for (const [k, v] of Object.entries(values)) stack.must("config", "set", k, v);
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
    };
    const colorOf = async (headers: Record<string, string> = {}) => (await http(`${url}/`, { headers })).body.color as string;
    /** Runs `steps` while wrk keeps 20 connections busy; returns what wrk counted. */
    const underLoad = async (steps: () => Promise<void>): Promise<LoadResult> => {
        const load = startLoad(`${url}/`, { threads: 1, connections: 20 });
        await new Promise((r) => setTimeout(r, 1000));
        try {
            await steps();
        } finally {
            await new Promise((r) => setTimeout(r, 1000));
        }
        const result = await load.stop();
        console.log(`# wrk: ${result.requests} requests in ${result.seconds}s, failed ${result.failed} (${JSON.stringify(result.socketErrors)}, non-2xx ${result.non2xx})`);
        return result;
    };

    before(async () => {
        ({ stack, url } = await startTestStack(STACK));
        assert.equal(await colorOf(), "blue");
    });
    after(() => stack?.dispose());

    it("10 colour switches drop no request", async () => {
        const seen: string[] = [];
        const result = await underLoad(async () => {
            for (let i = 0; i < 10; i++) {
                const color = i % 2 === 0 ? "green" : "blue";
                declare({ activeColor: color });
                seen.push(await colorOf());
            }
        });
        assert.deepEqual(seen, ["green", "blue", "green", "blue", "green", "blue", "green", "blue", "green", "blue"]);
        assert.ok(result.requests > 1000, `load ran: ${result.requests} requests`);
        assert.equal(result.failed, 0, result.raw);
    });

    it("a gradual shift 10 -> 25 -> 50 -> 100 % splits by weight, keeps clients on their colour, drops nothing", async () => {
        const shares: number[] = [];
        const result = await underLoad(async () => {
            for (const traffic of [10, 25, 50, 100]) {
                declare({ activeColor: "green", traffic: String(traffic) });
                const colors = await Promise.all(Array.from({ length: 200 }, () => colorOf()));
                shares.push(colors.filter((c) => c === "green").length / 2);
                if (traffic === 25) {
                    const sticky = await Promise.all(Array.from({ length: 10 }, () => colorOf({ cookie: "noteshub_color=blue" })));
                    assert.deepEqual(new Set(sticky), new Set(["blue"]), "a blue client stays on blue during the shift");
                }
            }
        });
        // Shares in percent of 200 fresh requests at each step: within ±4 standard deviations of the weight.
        [10, 25, 50].forEach((w, i) => assert.ok(Math.abs(shares[i] - w) <= 4 * Math.sqrt((w * (100 - w)) / 200), `step ${w} %: green got ${shares[i]} %`));
        assert.equal(shares[3], 100);
        assert.deepEqual(stack.outputs().traffic, { blue: 0, green: 100 });
        assert.equal(result.failed, 0, result.raw);
    });

    it("an immediate rollback moves everything back, sticky clients too, and drops nothing", async () => {
        const result = await underLoad(async () => declare({ activeColor: "blue", traffic: "100" }));
        assert.equal(await colorOf({ cookie: "noteshub_color=green" }), "blue");
        assert.equal(result.failed, 0, result.raw);
    });
});
