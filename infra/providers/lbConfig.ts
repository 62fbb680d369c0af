// The load balancer's routes: a file written into the running nginx container and applied there
// (images/nginx/apply-config.sh: validate, swap, reload; a bad file never replaces the last good one).
// A colour flip changes only this resource, never a container (issue #3: "a colour flip touches only routing").
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, execIn, type DockerConnection } from "../docker/engine";
import { diffInputs } from "./diff";

export interface LbConfigArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** The nginx container's id; a new container gets the routes written again. */
    readonly containerId: pulumi.Input<string>;
    /** Rendered routes (infra/render/nginx.ts). */
    readonly content: pulumi.Input<string>;
    /** Ids of the containers the routes point at; when one is replaced nginx re-resolves its address. */
    readonly backends: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** When each colour that receives traffic passed its health gate: the routes wait for it. */
    readonly gates?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Percent of requests each colour receives (plain, so the policy pack can see who gets traffic). */
    readonly weights: Record<string, number>;
}

interface Inputs {
    docker: DockerConnection;
    containerId: string;
    content: string;
    backends: Record<string, string>;
    gates?: Record<string, string>;
    weights?: Record<string, number>;
    /** Tells this resource apart for the policy pack (policy/traffic.ts). */
    kind?: "Routes";
}

const DIR = "/etc/nginx/noteshub";

async function apply(inputs: Inputs): Promise<void> {
    const tarStream = require("tar-stream") as typeof import("tar-stream");
    const docker = connect(inputs.docker);
    const container = docker.getContainer(inputs.containerId);
    const target = `load balancer ${inputs.containerId.slice(0, 12)}`;
    try {
        const pack = tarStream.pack();
        // www-data (33) owns the routes so nginx, running unprivileged, can read and swap them.
        pack.entry({ name: "routes.conf.next", mode: 0o644, uid: 33, gid: 33 }, inputs.content);
        pack.finalize();
        await container.putArchive(pack as never, { path: DIR });
        const r = await execIn(docker, inputs.containerId, ["noteshub-apply-config"], "www-data");
        if (r.exitCode !== 0) throw new Error(`noteshub-apply-config exited ${r.exitCode}: ${(r.stdout + r.stderr).trim()}`);
    } catch (err) {
        throw engineError("apply routes to", target, inputs.docker, err);
    }
}

export const provider = {
    async diff(_id: string, olds: Inputs, news: Inputs) {
        return diffInputs(olds as never, news as never, { outputs: [], inPlace: ["docker", "containerId", "content", "backends", "gates", "weights", "kind"] });
    },
    async create(inputs: Inputs) {
        await apply(inputs);
        return { id: `routes-${inputs.containerId.slice(0, 12)}`, outs: inputs };
    },
    async update(_id: string, _olds: Inputs, news: Inputs) {
        await apply(news);
        return { outs: news };
    },
    async delete() {
        // The routes live in the balancer container; they go when it goes.
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class LbConfig extends pulumi.dynamic.Resource {
    declare readonly content: pulumi.Output<string>;

    constructor(name: string, args: LbConfigArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, kind: "Routes" }, opts, "nginx", "Routes");
    }
}
