// Figures for the foundation (issue #3): wall time of `pulumi up` for a colour flip on a warm stack (with and without the
// preview pass), of a no-change `up`, and of a version change (one colour replaced). Prints; asserts nothing.
import { stagingValues } from "../helpers/config";
import { freePort, http, purgeDockerLeftovers, TestStack } from "../helpers/stack";

const STACK = "bench-flip";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
    purgeDockerLeftovers(STACK);
    const port = await freePort();
    const stack = new TestStack(STACK, stagingValues({ loadBalancer: { port } }));
    try {
        stack.init({ "database.password": "bench-password-0123" });
        const first = stack.up();
        if (first.code !== 0) throw new Error(first.stdout + first.stderr);
        const flips: number[] = [];
        const flipsWithPreview: number[] = [];
        const colors = ["green", "blue"];
        for (let i = 0; i < 6; i++) {
            const color = colors[i % 2];
            stack.must("config", "set", "activeColor", color);
            const r = i % 2 === 0 ? stack.up() : stack.pulumi("up", "--yes");
            if (r.code !== 0) throw new Error(r.stderr);
            const served = (await http(`http://127.0.0.1:${port}/health`)).headers.get("x-noteshub-color");
            if (served !== color) throw new Error(`after flip to ${color} the balancer served ${served}`);
            (i % 2 === 0 ? flips : flipsWithPreview).push(r.ms);
        }
        const noChange = [0, 1, 2].map(() => stack.up().ms);
        stack.must("config", "set", "greenVersion", "v0.9.0");
        const versionChange = stack.up().ms;
        console.log(`first up (images cached, new containers):  ${first.ms} ms`);
        console.log(`colour flip, up --skip-preview (median of ${flips.length}): ${median(flips)} ms   [${flips.join(", ")}]`);
        console.log(`colour flip, up with preview (median of ${flipsWithPreview.length}):  ${median(flipsWithPreview)} ms   [${flipsWithPreview.join(", ")}]`);
        console.log(`no-change up (median of 3):                 ${median(noChange)} ms`);
        console.log(`version change on the idle colour:          ${versionChange} ms`);
    } finally {
        stack.dispose();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
