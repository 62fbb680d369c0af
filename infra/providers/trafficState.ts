// The balancer's traffic state: which colour gets what share (rendered by render/nginx.ts renderState). It is a
// file in the volume the balancer's holder owns; every nginx instance reads it per request (images/nginx/noteshub.js).
// A colour switch or a weight change writes it next to the old one and swaps it in with one rename
// (noteshub-apply-state, run in the holder), so moving traffic never reloads nginx and drops no request, even on
// keep-alive connections (issue #6, INVARIANTS 2). A colour switch changes only this resource, never a container.
// A state that isn't one is refused before anything is written, and again in the holder; a live state that differs
// from the declared one is repaired by the next update (issue #13).
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, execIn, type DockerConnection } from "../docker/engine";
import { readFileIn, STATE_DIR, STATE_FILE } from "../docker/live";
import { fromRoot } from "../paths";
import { stateProblem } from "../render/nginx";
import { diffInputs } from "./diff";

/** images/holder/apply-state.sh, read when the program loads (captured by value in the provider). */
const APPLY_SCRIPT = readFileSync(fromRoot("images/holder/apply-state.sh"), "utf8");

export interface TrafficStateArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** The balancer's holder (it owns the state volume and has the swap script). */
    readonly containerId: pulumi.Input<string>;
    /** Rendered traffic state (renderState). */
    readonly state: pulumi.Input<string>;
    /** When each colour that receives traffic passed its health gate: the state waits for it. */
    readonly gates?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Percent of requests each colour receives (plain, so the policy pack can see who gets traffic). */
    readonly weights: Record<string, number>;
}

interface Inputs {
    docker: DockerConnection;
    containerId: string;
    state: string;
    gates?: Record<string, string>;
    weights?: Record<string, number>;
    /** Tells this resource apart for the policy pack (policy/traffic.ts). */
    kind?: "TrafficState";
}

/** Swaps in a new traffic state, no reload (also the operator's fast path for an immediate rollback, cli/). */
export async function applyState(inputs: Pick<Inputs, "docker" | "containerId" | "state">): Promise<void> {
    const tarStream = require("tar-stream") as typeof import("tar-stream");
    const problem = stateProblem(inputs.state);
    if (problem) throw new Error(`refusing to apply a traffic state: ${problem} (${JSON.stringify(inputs.state.slice(0, 200))}); the balancer keeps the current one`);
    const docker = connect(inputs.docker);
    try {
        const pack = tarStream.pack();
        // www-data (33) owns the state so the holder, running unprivileged, can swap it and nginx can read it.
        pack.entry({ name: "state.json.next", mode: 0o644, uid: 33, gid: 33 }, inputs.state);
        pack.finalize();
        await docker.getContainer(inputs.containerId).putArchive(pack as never, { path: STATE_DIR });
        // The swap script runs from this checkout, not from the holder's image: a holder made by an older release
        // (its image is pinned, and it is never replaced while it serves) still gets today's checks.
        const r = await execIn(docker, inputs.containerId, ["bash", "-c", APPLY_SCRIPT], "www-data");
        if (r.exitCode !== 0) throw new Error(`noteshub-apply-state exited ${r.exitCode}: ${(r.stdout + r.stderr).trim()}`);
    } catch (err) {
        throw engineError("apply the traffic state to", `the balancer's holder ${inputs.containerId.slice(0, 12)}`, inputs.docker, err);
    }
}

/** True when the holder runs and its live state is not the declared one (missing included); false when unknown. */
async function liveDiffers(news: Inputs): Promise<boolean> {
    const docker = connect(news.docker);
    try {
        if (!(await docker.getContainer(news.containerId).inspect()).State.Running) return false;
        return (await readFileIn(docker, news.containerId, STATE_FILE)) !== news.state;
    } catch {
        return false;
    }
}

export const provider = {
    async diff(_id: string, olds: Inputs, news: Inputs) {
        const d = diffInputs(olds as never, news as never, { outputs: [], inPlace: ["docker", "containerId", "state", "gates", "weights", "kind"] });
        if (d.changes) return d;
        // What the balancer routes by is the live file, not state: one changed by hand (or by a command killed
        // midway) is noticed here, and the update writes the declared one back. An unreadable engine is preflight's.
        return (await liveDiffers(news)) ? { changes: true, replaces: [], deleteBeforeReplace: false, diffs: ["state"] } : d;
    },
    async create(inputs: Inputs) {
        await applyState(inputs);
        return { id: `traffic-${inputs.containerId.slice(0, 12)}`, outs: inputs };
    },
    async update(_id: string, _olds: Inputs, news: Inputs) {
        await applyState(news);
        return { outs: news };
    },
    async delete() {
        // The file lives in the state volume; it goes with the stack's balancer.
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class TrafficState extends pulumi.dynamic.Resource {
    declare readonly state: pulumi.Output<string>;

    constructor(name: string, args: TrafficStateArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, kind: "TrafficState" }, opts, "nginx", "TrafficState");
    }
}
