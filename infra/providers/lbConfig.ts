// The load balancer's routes and traffic state: files written into the running nginx container.
// - routes (upstreams, rendered by render/nginx.ts renderRoutes): change only when a colour's container or version
//   does; applied by images/nginx/apply-config.sh (validate, swap, graceful reload).
// - traffic state (which colour gets what share, renderState): a colour switch or a weight change writes only this
//   and swaps it in with one rename (apply-state.sh); nginx reads it per request (images/nginx/noteshub.js), so
//   moving traffic never reloads nginx and drops no request, even on keep-alive connections (issue #6, INVARIANTS 2).
// A colour switch changes only this resource, never a container (issue #3).
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, execIn, type DockerConnection } from "../docker/engine";
import { changedInputs, diffInputs } from "./diff";

export interface LbConfigArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** The nginx container's id; a new container gets both files written again. */
    readonly containerId: pulumi.Input<string>;
    /** Rendered routes (renderRoutes). */
    readonly content: pulumi.Input<string>;
    /** Rendered traffic state (renderState). */
    readonly state: pulumi.Input<string>;
    /** Ids of the containers the routes point at; when one is replaced nginx re-resolves its address (reload). */
    readonly backends: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** When each colour that receives traffic passed its health gate: the state waits for it. */
    readonly gates?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Percent of requests each colour receives (plain, so the policy pack can see who gets traffic). */
    readonly weights: Record<string, number>;
}

interface Inputs {
    docker: DockerConnection;
    containerId: string;
    content: string;
    state?: string;
    backends: Record<string, string>;
    gates?: Record<string, string>;
    weights?: Record<string, number>;
    /** Tells this resource apart for the policy pack (policy/traffic.ts). */
    kind?: "Routes";
}

const DIR = "/etc/nginx/noteshub";
/** Inputs whose change needs the routes rewritten and nginx reloaded; any other change is a state swap. */
const STRUCTURAL = ["docker", "containerId", "content", "backends"];

async function write(inputs: Pick<Inputs, "docker" | "containerId">, files: Record<string, string>, command: string): Promise<void> {
    const tarStream = require("tar-stream") as typeof import("tar-stream");
    const docker = connect(inputs.docker);
    const container = docker.getContainer(inputs.containerId);
    const target = `load balancer ${inputs.containerId.slice(0, 12)}`;
    try {
        const pack = tarStream.pack();
        // www-data (33) owns the files so nginx, running unprivileged, can read and swap them.
        for (const [name, text] of Object.entries(files)) pack.entry({ name, mode: 0o644, uid: 33, gid: 33 }, text);
        pack.finalize();
        await container.putArchive(pack as never, { path: DIR });
        const r = await execIn(docker, inputs.containerId, [command], "www-data");
        if (r.exitCode !== 0) throw new Error(`${command} exited ${r.exitCode}: ${(r.stdout + r.stderr).trim()}`);
    } catch (err) {
        throw engineError("apply routes to", target, inputs.docker, err);
    }
}

/** Everything: the state first (same upstream names before and after), then the routes with a reload. */
async function applyAll(inputs: Inputs): Promise<void> {
    await write(inputs, { ...(inputs.state ? { "state.json.next": inputs.state } : {}), "routes.conf.next": inputs.content }, "noteshub-apply-config");
}

/** Swaps in a new traffic state, no reload (also the operator's fast path for an immediate rollback, cli/commands.ts). */
export async function applyState(inputs: Pick<Inputs, "docker" | "containerId" | "state">): Promise<void> {
    if (inputs.state) await write(inputs, { "state.json.next": inputs.state }, "noteshub-apply-state");
}

export const provider = {
    async diff(_id: string, olds: Inputs, news: Inputs) {
        return diffInputs(olds as never, news as never, { outputs: [], inPlace: [...STRUCTURAL, "state", "gates", "weights", "kind"] });
    },
    async create(inputs: Inputs) {
        await applyAll(inputs);
        return { id: `routes-${inputs.containerId.slice(0, 12)}`, outs: inputs };
    },
    async update(_id: string, olds: Inputs, news: Inputs) {
        const structural = changedInputs(olds as never, news as never, []).some((k) => STRUCTURAL.includes(k));
        await (structural ? applyAll(news) : applyState(news));
        return { outs: news };
    },
    async delete() {
        // The files live in the balancer container; they go when it goes.
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class LbConfig extends pulumi.dynamic.Resource {
    declare readonly content: pulumi.Output<string>;

    constructor(name: string, args: LbConfigArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, kind: "Routes" }, opts, "nginx", "Routes");
    }
}
