// Checks made before anything is touched (INVARIANTS 9): the Docker engine answers, and every host port the stack
// publishes is free or already held by this stack's own container. Every Docker resource takes its connection from
// this resource's output, so when a check fails, no resource is created, replaced or deleted.
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, type DockerConnection } from "../docker/engine";
import { changedInputs } from "./diff";

export interface HostPortClaim {
    /** Who will publish it, e.g. noteshub-staging-lb. */
    readonly container: string;
    readonly hostIp: string;
    readonly port: number;
    /** Stack config key that sets it (for the fix). */
    readonly configKey: string;
}

/** A CPU limit some containers get: the engine refuses one above the host's CPUs, so it is checked first. */
export interface CpuClaim {
    readonly cpus: number;
    readonly configKey: string;
}

export interface PreflightArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly ports: pulumi.Input<HostPortClaim[]>;
    readonly cpus: pulumi.Input<CpuClaim[]>;
}

interface Inputs {
    docker: DockerConnection;
    ports: HostPortClaim[];
    cpus?: CpuClaim[];
}

/** Can this machine bind the port? Only meaningful when the engine is local (unix socket). */
function bindable(hostIp: string, port: number): Promise<boolean> {
    const net = require("net") as typeof import("net");
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen({ host: hostIp, port, exclusive: true }, () => srv.close(() => resolve(true)));
    });
}

async function check(inputs: Inputs): Promise<void> {
    const docker = connect(inputs.docker);
    try {
        await docker.ping();
    } catch (err) {
        throw engineError("reach", "engine", inputs.docker, err);
    }
    const over = (inputs.cpus ?? []).filter((c) => c.cpus > 0);
    if (over.length) {
        const ncpu = (await docker.info()).NCPU as number;
        for (const c of over) {
            if (c.cpus > ncpu) throw new Error(`preflight: ${c.configKey} is ${c.cpus} CPUs, but the Docker host has ${ncpu}; fix: pulumi config set --path '${c.configKey}' ${ncpu}. Nothing was changed.`);
        }
    }
    const containers = await docker.listContainers({ all: false });
    for (const claim of inputs.ports) {
        const holder = containers.find((c) => c.Ports?.some((p) => p.PublicPort === claim.port));
        const holderName = holder?.Names?.[0]?.replace(/^\//, "");
        if (holder && holderName !== claim.container) {
            throw new Error(`preflight: host port ${claim.port} (${claim.configKey}) is published by container ${holderName}; stop it or set another port: pulumi config set --path '${claim.configKey}' <free port>. Nothing was changed.`);
        }
        if (!holder && inputs.docker.host.startsWith("unix://") && !(await bindable(claim.hostIp, claim.port))) {
            throw new Error(`preflight: host port ${claim.hostIp}:${claim.port} (${claim.configKey}) is in use on this machine (see: ss -ltnp | grep :${claim.port}); free it or set another port: pulumi config set --path '${claim.configKey}' <free port>. Nothing was changed.`);
        }
    }
}

export const provider = {
    async diff(_id: string, olds: Inputs, news: Inputs) {
        // Re-check whenever what it guards changes; never replace (it owns nothing).
        return { changes: changedInputs(olds as never, news as never, []).length > 0, replaces: [] };
    },
    async create(inputs: Inputs) {
        await check(inputs);
        return { id: "preflight", outs: inputs };
    },
    async update(_id: string, _olds: Inputs, news: Inputs) {
        await check(news);
        return { outs: news };
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class Preflight extends pulumi.dynamic.Resource {
    /** The connection, handed on only after the checks passed. */
    declare readonly docker: pulumi.Output<DockerConnection>;

    constructor(name: string, args: PreflightArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, args, opts, "noteshub", "Preflight");
    }
}
