// A Docker container as a dynamic provider on dockerode. Any change replaces it, old one first (names are fixed
// per stack and colour). Create waits until the container runs, and is healthy when the image or spec has a
// healthcheck; on any failure it removes what it made and reports the engine's words plus the container's logs.
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, statusOf, type DockerConnection } from "../docker/engine";
import { containerCreateOptions, type ContainerSpec } from "../render/containerSpec";
import { diffInputs } from "./diff";

/** T with an Input allowed at every level (the engine resolves nested Outputs before the provider runs). */
type DeepInput<T> = T extends string | number | boolean
    ? pulumi.Input<T>
    : T extends readonly (infer U)[]
      ? pulumi.Input<DeepInput<U>[]>
      : T extends object
        ? pulumi.Input<{ readonly [K in keyof T]: DeepInput<T[K]> }>
        : pulumi.Input<T>;

export type DockerContainerArgs = { readonly [K in keyof ContainerSpec]: DeepInput<ContainerSpec[K]> } & {
    readonly docker: pulumi.Input<DockerConnection>;
    /** Label value that marks containers this stack owns (a leftover with it is removed and recreated). */
    readonly owner: pulumi.Input<string>;
    /** How long create waits for running/healthy before it gives up. Default 60 s. */
    readonly readyTimeoutSec?: pulumi.Input<number>;
    /** "healthy": wait for the container's healthcheck (default); "running": only that it stays up (a gate checks more). */
    readonly waitFor?: pulumi.Input<"healthy" | "running">;
};

interface Inputs extends ContainerSpec {
    docker: DockerConnection;
    owner: string;
    readyTimeoutSec?: number;
    waitFor?: "healthy" | "running";
}
interface Outputs extends Inputs {
    containerId: string;
}

const OWNER_LABEL = "io.noteshub.owner";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last lines a container printed, to put in an error. */
async function logTail(container: import("dockerode").Container, lines = 20): Promise<string> {
    try {
        const buf = (await container.logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
        // Multiplexed stream: 8-byte frame headers precede each chunk; strip them for humans.
        const out: string[] = [];
        for (let i = 0; i + 8 <= buf.length;) {
            const len = buf.readUInt32BE(i + 4);
            out.push(buf.subarray(i + 8, i + 8 + len).toString("utf8"));
            i += 8 + len;
        }
        const text = (out.length ? out.join("") : buf.toString("utf8")).trim();
        return text ? `\n  last log lines:\n    ${text.split("\n").slice(-lines).join("\n    ")}` : "";
    } catch {
        return "";
    }
}

/**
 * Waits until the container runs and, if it has a healthcheck, reports healthy; without one, until it has stayed
 * up for a moment (a process that dies at once looks "running" for a few milliseconds). A restart counts as a crash.
 */
async function waitReady(container: import("dockerode").Container, name: string, timeoutSec: number, waitFor: "healthy" | "running"): Promise<void> {
    const deadline = Date.now() + timeoutSec * 1000;
    const SETTLE_MS = 1500;
    let upSince: number | undefined;
    for (;;) {
        const info = await container.inspect();
        const health = waitFor === "healthy" ? info.State.Health : undefined;
        const crashed = info.RestartCount > 0 || info.State.Restarting || (!info.State.Running && info.State.Status !== "created");
        if (crashed) {
            throw new Error(`container ${name} exited with code ${info.State.ExitCode}${info.State.Error ? ` (${info.State.Error})` : ""}${await logTail(container)}`);
        }
        if (info.State.Running && health?.Status === "healthy") return;
        if (info.State.Running && !health) {
            upSince ??= Date.now();
            if (Date.now() - upSince >= SETTLE_MS) return;
        }
        if (Date.now() > deadline) {
            const last = health?.Log?.at(-1)?.Output?.trim();
            throw new Error(`container ${name} not ${health ? "healthy" : "running"} after ${timeoutSec}s (health: ${health?.Status ?? "none"}${last ? `, last check: ${last}` : ""})${await logTail(container)}`);
        }
        await sleep(250);
    }
}

async function removeIfPresent(docker: import("dockerode"), idOrName: string): Promise<void> {
    try {
        // v: anonymous volumes only (an image's VOLUME left unmounted); named data volumes are never removed.
        await docker.getContainer(idOrName).remove({ force: true, v: true });
    } catch (err) {
        if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
    }
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        return diffInputs(olds as never, news as never, { outputs: ["containerId"], inPlace: ["readyTimeoutSec", "waitFor"], deleteBeforeReplace: true });
    },

    async create(inputs: Inputs) {
        const docker = connect(inputs.docker);
        const target = `container ${inputs.name}`;
        const spec = containerCreateOptions(inputs);
        spec.Labels = { ...spec.Labels, [OWNER_LABEL]: inputs.owner };
        // No restarts until it has proven it starts: a crash then shows its real exit code and logs.
        const restartPolicy = spec.HostConfig!.RestartPolicy;
        spec.HostConfig!.RestartPolicy = { Name: "no" };
        // A container of ours under this name is a leftover of an interrupted run: replace it.
        // One that is not ours is someone else's: never touch it.
        try {
            const existing = await docker.getContainer(inputs.name).inspect();
            if (existing.Config.Labels?.[OWNER_LABEL] !== inputs.owner) {
                throw new Error(`docker: create ${target}: a container with this name exists and is not managed by ${inputs.owner}; rename or remove it (docker rm -f ${inputs.name})`);
            }
            await removeIfPresent(docker, existing.Id);
        } catch (err) {
            if (statusOf(err) !== 404) throw err instanceof Error && err.message.startsWith("docker:") ? err : engineError("inspect", target, inputs.docker, err);
        }
        let container: import("dockerode").Container;
        try {
            container = await docker.createContainer(spec);
        } catch (err) {
            throw engineError("create", target, inputs.docker, err);
        }
        try {
            await container.start();
        } catch (err) {
            await removeIfPresent(docker, container.id);
            throw engineError("start", target, inputs.docker, err);
        }
        try {
            await waitReady(container, inputs.name, inputs.readyTimeoutSec ?? 60, inputs.waitFor ?? "healthy");
            await container.update({ RestartPolicy: restartPolicy });
        } catch (err) {
            await removeIfPresent(docker, container.id);
            throw new Error(`docker: start ${target}: ${(err as Error).message}\n  -> nothing was kept; fix the cause and run pulumi up again`);
        }
        const outs: Outputs = { ...inputs, containerId: container.id };
        return { id: container.id, outs };
    },

    async update(_id: string, _olds: Outputs, news: Inputs) {
        // Only the wait settings change in place; they matter at create time alone.
        return { outs: { ..._olds, readyTimeoutSec: news.readyTimeoutSec, waitFor: news.waitFor } };
    },

    async delete(id: string, props: Outputs) {
        const docker = connect(props.docker);
        try {
            const c = docker.getContainer(id);
            await c.stop({ t: props.stopTimeoutSec }).catch((err: unknown) => {
                if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
            });
            await removeIfPresent(docker, id);
        } catch (err) {
            throw engineError("remove", `container ${props.name}`, props.docker, err);
        }
    },
} satisfies pulumi.dynamic.ResourceProvider;

/** One Docker container. Volumes it mounts are untouched by its replacement or deletion. */
export class DockerContainer extends pulumi.dynamic.Resource {
    declare readonly containerId: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;

    constructor(name: string, args: DockerContainerArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, containerId: undefined }, { ...opts, additionalSecretOutputs: ["env"] }, "docker", "Container");
    }
}
