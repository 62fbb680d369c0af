// A Docker container as a dynamic provider on dockerode. Any change to what runs replaces it: old one first when its
// name is fixed (app colours, holders, the database), new one first when it can run twice (the balancer's nginx
// instances, which hand over without dropping a request: docker/handover.ts). Create waits until the container runs
// (and is healthy, or answers `readyExec`); on any failure it removes what it made and reports the engine's words
// plus the container's logs.
// A guarded container (a colour with a share, the balancer's port holder, the database) is never replaced while it
// serves: the diff reads the live traffic state from the engine and refuses at preview (issue #12, INVARIANTS 4).
import * as pulumi from "@pulumi/pulumi";
import { fingerprint, SPEC_LABEL, URN_LABEL, type Guard } from "../../policy/liveSpec";
import { connect, engineError, execIn, statusOf, type DockerConnection } from "../docker/engine";
import { refuseRemoval, refuseReplacement } from "../docker/guard";
import { OWNER_LABEL, RESOURCE_LABEL } from "../docker/live";
import { handOver, HANDOVER_LABEL, retire, type Handover } from "../docker/handover";
import { lostBuildError } from "./dockerImage";
import { containerCreateOptions, limitsConfig, type ContainerFile, type ContainerSpec, type Limits } from "../render/containerSpec";
import { diffInputs, stableJson } from "./diff";

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
    /** Once running, also wait until this command exits 0 inside it (e.g. nginx answering on its status socket). */
    readonly readyExec?: pulumi.Input<string[]>;
    /** Environment set when the container is created; a later change alone leaves the running container as it is. */
    readonly startEnv?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Never replaced while it serves (see Guard); the program fills in what it read from the engine. */
    readonly guard?: pulumi.Input<Guard>;
    /** Replaced new-first: the new container, once ready, drains and stops the group's older members. */
    readonly handover?: pulumi.Input<Handover>;
    /**
     * Kept, but not running (a retired colour): its logs stay readable and starting it again needs nothing pulled.
     * Stopping is refused while it serves (its guard), like a replacement; starting waits until it is ready.
     */
    readonly stopped?: pulumi.Input<boolean>;
};

interface Inputs extends ContainerSpec {
    docker: DockerConnection;
    owner: string;
    readyTimeoutSec?: number;
    waitFor?: "healthy" | "running";
    readyExec?: string[];
    startEnv?: Record<string, string>;
    guard?: Guard;
    handover?: Handover;
    stopped?: boolean;
    /** The Pulumi resource's name and URN (set by the constructor; a property named urn would be dropped). */
    resourceName?: string;
    resourceUrn?: string;
}
interface Outputs extends Inputs {
    containerId: string;
}

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
 * Then, with `readyExec`, until that command succeeds inside it.
 */
async function waitReady(docker: import("dockerode"), container: import("dockerode").Container, inputs: Inputs): Promise<void> {
    const timeoutSec = inputs.readyTimeoutSec ?? 60;
    const waitFor = inputs.waitFor ?? "healthy";
    const deadline = Date.now() + timeoutSec * 1000;
    const SETTLE_MS = 1500;
    let upSince: number | undefined;
    let lastExec = "";
    for (;;) {
        const info = await container.inspect();
        const health = waitFor === "healthy" ? info.State.Health : undefined;
        const crashed = info.RestartCount > 0 || info.State.Restarting || (!info.State.Running && info.State.Status !== "created");
        if (crashed) {
            throw new Error(`container ${inputs.name} exited with code ${info.State.ExitCode}${info.State.Error ? ` (${info.State.Error})` : ""}${await logTail(container)}`);
        }
        let up = info.State.Running && health?.Status === "healthy";
        if (info.State.Running && !health) {
            upSince ??= Date.now();
            up = Date.now() - upSince >= (inputs.readyExec ? 0 : SETTLE_MS);
        }
        if (up && inputs.readyExec) {
            const r = await execIn(docker, container.id, inputs.readyExec).catch((err: Error) => ({ exitCode: -1, stdout: "", stderr: err.message }));
            lastExec = (r.stdout + r.stderr).trim();
            up = r.exitCode === 0;
        }
        if (up) return;
        if (Date.now() > deadline) {
            const last = health?.Log?.at(-1)?.Output?.trim() ?? lastExec;
            throw new Error(`container ${inputs.name} not ready after ${timeoutSec}s (health: ${health?.Status ?? (inputs.readyExec ? inputs.readyExec.join(" ") : "none")}${last ? `, last check: ${last}` : ""})${await logTail(container)}`);
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

/** Writes files into a created (not yet started) container. */
async function writeFiles(container: import("dockerode").Container, files: ContainerFile[]): Promise<void> {
    const tarStream = require("tar-stream") as typeof import("tar-stream");
    const pack = tarStream.pack();
    for (const f of files) pack.entry({ name: f.path.replace(/^\/+/, ""), mode: f.mode ?? 0o644, uid: f.uid ?? 0, gid: f.uid ?? 0 }, f.content);
    pack.finalize();
    await container.putArchive(pack as never, { path: "/" });
}

/**
 * A new balancer instance is tried first on its own address on `trialNetwork`, where no user reaches it: only one that
 * becomes ready there joins the holder (where it would serve users from its first second, ready or not).
 */
async function trial(docker: import("dockerode"), inputs: Inputs, spec: import("dockerode").ContainerCreateOptions): Promise<void> {
    const network = inputs.handover!.trialNetwork!;
    const name = `${inputs.name}-trial`;
    await removeIfPresent(docker, name);
    const labels = { ...spec.Labels };
    delete labels[HANDOVER_LABEL]; // not a member: nothing hands over to it
    const c = await docker.createContainer({
        ...spec, name, Labels: labels,
        HostConfig: { ...spec.HostConfig, NetworkMode: network },
        NetworkingConfig: { EndpointsConfig: { [network]: {} } },
    });
    try {
        if (inputs.files?.length) await writeFiles(c, inputs.files);
        await c.start();
        await waitReady(docker, c, inputs);
    } catch (err) {
        throw new Error(`docker: try container ${inputs.name} before it serves: ${(err as Error).message}\n  -> the instance that serves was left as it is; fix the cause and run pulumi up again`);
    } finally {
        await removeIfPresent(docker, c.id);
    }
}

/** Containers are created from the pinned image id: one the host lost (a local build) can't be had again; say so. */
async function refuseLostImage(inputs: Inputs): Promise<void> {
    if (!/^sha256:[0-9a-f]+$/.test(inputs.imageId)) return; // not known yet (preview), or no pin (tests)
    const present = await connect(inputs.docker).getImage(inputs.imageId).inspect().then(() => true, (e) => statusOf(e) !== 404);
    if (!present) throw new Error(`docker: create container ${inputs.name}: ${lostBuildError(inputs.image, inputs.imageId)}`);
}

/**
 * New limits for a running container must leave it room: memory at least 1.25 times what it uses now (less, and the
 * kernel reclaims or kills at once), and more processes than it runs. Read from the engine (docker stats).
 */
async function refuseTightLimits(olds: Outputs, limits: Limits): Promise<void> {
    let stats: { memory_stats?: { usage?: number; stats?: Record<string, number> }; pids_stats?: { current?: number } };
    try {
        stats = (await connect(olds.docker).getContainer(olds.containerId).stats({ stream: false })) as typeof stats;
    } catch {
        return; // not there, or not running: nothing to starve
    }
    const m = stats.memory_stats ?? {};
    // What it can't give back: usage less the page cache it may drop (cgroup v1 and v2 name it differently).
    const usedMb = Math.max(0, (m.usage ?? 0) - (m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0)) / 1024 / 1024;
    const pids = stats.pids_stats?.current ?? 0;
    const problems: string[] = [];
    if (usedMb > 0 && limits.memoryMb < usedMb * 1.25) problems.push(`memoryMb ${limits.memoryMb} leaves no room: it uses ${Math.ceil(usedMb)} MB now (at least ${Math.ceil(usedMb * 1.25)})`);
    if (pids > 0 && limits.pids <= pids) problems.push(`pids ${limits.pids} is not more than the ${pids} it runs now`);
    if (problems.length) {
        throw new Error(`docker: update the limits of container ${olds.name}: ${problems.join("; ")}. Fix: raise it in stack config (app.limits, database.limits or loadBalancer.limits: pulumi config set --path <section>.limits.<field> <value>). Nothing was changed.`);
    }
}

/** Stops a container that is kept (retired): refused while it serves; its requests in flight finish first. */
async function stopServing(docker: import("dockerode"), id: string, inputs: Inputs): Promise<void> {
    await refuseRemoval(inputs as never, "stop (retire)");
    await docker.getContainer(id).stop({ t: inputs.stopTimeoutSec }).catch((err: unknown) => {
        if (statusOf(err) !== 304) throw engineError("stop", `container ${inputs.name}`, inputs.docker, err);
    });
}

/**
 * Starts a kept container again and waits until it is ready, as create does (a crash shows its logs), then gives it
 * its restart policy: one created stopped (a retired colour made anew) was made with none, as create makes them.
 */
async function startAgain(docker: import("dockerode"), id: string, inputs: Inputs): Promise<void> {
    const c = docker.getContainer(id);
    try {
        await c.start();
    } catch (err) {
        if (statusOf(err) !== 304) throw engineError("start", `container ${inputs.name}`, inputs.docker, err);
    }
    try {
        await waitReady(docker, c, inputs);
        await c.update({ RestartPolicy: containerCreateOptions(inputs).HostConfig!.RestartPolicy });
    } catch (err) {
        throw new Error(`docker: start ${inputs.name} again: ${(err as Error).message}\n  -> it was left stopped; fix the cause and run pulumi up again`);
    }
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        // Another engine is another container; a new way to reach the same engine (a moved TLS directory) is not.
        const d = diffInputs({ ...olds, docker: olds.docker.host } as never, { ...news, docker: news.docker.host } as never, {
            outputs: ["containerId", "guard", "startEnv", "resourceName", "resourceUrn", "readOnlyRoot", "startLimits"],
            inPlace: ["readyTimeoutSec", "waitFor", "readyExec", "handover", "stopTimeoutSec", "stopped", "limits"],
            deleteBeforeReplace: !news.handover,
        });
        if (!d.changes && stableJson(olds.docker) !== stableJson(news.docker)) return { changes: true, replaces: [], deleteBeforeReplace: false };
        // New-first (a handover) is safe by itself; old-first is guarded.
        if (d.replaces?.length && news.guard && !news.handover) await refuseReplacement(olds as never, news as never, d.replaces);
        // Old-first with an image the host lost (a local build) would leave nothing: say so before anything stops.
        if (d.replaces?.length) await refuseLostImage(news);
        // New limits apply in place; one that would starve a running container is refused before anything changes.
        if (!d.replaces?.length && stableJson(olds.limits) !== stableJson(news.limits) && news.limits) await refuseTightLimits(olds, news.limits);
        // Stopping one that serves is refused at preview, like replacing it: retire a colour once its traffic moved.
        if (!d.replaces?.length && news.stopped && !olds.stopped) await refuseRemoval(news as never, "stop (retire)");
        return d;
    },

    async create(inputs: Inputs) {
        const docker = connect(inputs.docker);
        const target = `container ${inputs.name}`;
        const spec = containerCreateOptions({ ...inputs, env: { ...inputs.env, ...inputs.startEnv } });
        const fp = JSON.stringify(fingerprint(inputs as never));
        spec.Labels = { ...spec.Labels, [OWNER_LABEL]: inputs.owner, [SPEC_LABEL]: fp, [RESOURCE_LABEL]: inputs.resourceName ?? "", [URN_LABEL]: inputs.resourceUrn ?? "", ...(inputs.handover ? { [HANDOVER_LABEL]: inputs.handover.group } : {}) };
        // No restarts until it has proven it starts: a crash then shows its real exit code and logs.
        const restartPolicy = spec.HostConfig!.RestartPolicy;
        spec.HostConfig!.RestartPolicy = { Name: "no" };
        // A container of ours under this name: one this same resource left when a run was interrupted is adopted if
        // it runs exactly this spec (a rerun changes nothing that serves); a balancer instance is moved aside and
        // handed over from (`pulumi up --replace` of it restarts nothing); any other is swept aside, never while it
        // serves. One that is not ours is never touched.
        let adopted: string | undefined;
        try {
            const existing = await docker.getContainer(inputs.name).inspect();
            const labels = existing.Config.Labels ?? {};
            if (labels[OWNER_LABEL] !== inputs.owner) {
                throw new Error(`docker: create ${target}: a container with this name exists and is not managed by ${inputs.owner}; rename or remove it (docker rm -f ${inputs.name})`);
            }
            if (inputs.handover) {
                await docker.getContainer(existing.Id).rename({ name: `${inputs.name}-retiring-${Date.now().toString(36)}` });
            } else if ((existing.State.Running || inputs.stopped) && labels[SPEC_LABEL] === fp && labels[RESOURCE_LABEL] === (inputs.resourceName ?? "")
                && (!labels[URN_LABEL] || labels[URN_LABEL] === inputs.resourceUrn)) {
                // (Only the very resource: one under a moved parent has the same name, and the old one's delete
                // would remove what it adopted.)
                // A stopped leftover that should run is made anew below (fresh, like any create), not started.
                adopted = existing.Id;
                if (inputs.stopped && existing.State.Running) await stopServing(docker, existing.Id, inputs);
            } else {
                if (existing.State.Running) await refuseRemoval(inputs as never, "replace the leftover");
                await docker.getContainer(existing.Id).stop({ t: inputs.stopTimeoutSec }).catch(() => undefined); // its requests finish
                await removeIfPresent(docker, existing.Id);
            }
        } catch (err) {
            if (statusOf(err) !== 404) throw err instanceof Error && err.message.startsWith("docker:") ? err : engineError("inspect", target, inputs.docker, err);
        }
        if (adopted) return { id: adopted, outs: { ...inputs, containerId: adopted } };
        await refuseLostImage(inputs);
        if (inputs.handover?.trialNetwork) await trial(docker, inputs, spec);
        let container: import("dockerode").Container;
        try {
            container = await docker.createContainer(spec);
        } catch (err) {
            throw engineError("create", target, inputs.docker, err);
        }
        try {
            if (inputs.files?.length) await writeFiles(container, inputs.files);
        } catch (err) {
            await removeIfPresent(docker, container.id);
            throw engineError("write files into", target, inputs.docker, err);
        }
        // A retired colour whose container had to be made anew (its version moved) is made, not started.
        if (inputs.stopped) return { id: container.id, outs: { ...inputs, containerId: container.id } };
        try {
            await container.start();
        } catch (err) {
            await removeIfPresent(docker, container.id);
            throw engineError("start", target, inputs.docker, err);
        }
        try {
            await waitReady(docker, container, inputs);
            await container.update({ RestartPolicy: restartPolicy });
        } catch (err) {
            // A balancer instance that started listening serves users already: it quits gracefully, never killed.
            if (inputs.handover) await retire(docker, container.id, inputs.handover, inputs.stopTimeoutSec).catch(() => undefined);
            await removeIfPresent(docker, container.id);
            throw new Error(`docker: start ${target}: ${(err as Error).message}\n  -> nothing was kept; fix the cause and run pulumi up again`);
        }
        if (inputs.handover) await handOver(docker, container.id, inputs.handover, inputs.stopTimeoutSec);
        const outs: Outputs = { ...inputs, containerId: container.id };
        return { id: container.id, outs };
    },

    async update(_id: string, olds: Outputs, news: Inputs) {
        // Only how create waits, how long a stop may take, the handover settings and how the engine is reached change
        // in place: they matter when a container starts or stops, not while it runs.
        const { readyTimeoutSec, waitFor, readyExec, handover, stopTimeoutSec, docker, stopped, limits } = news;
        // A setting the news leave out is gone from the outputs too: Pulumi's wire format has no undefined.
        const outs = Object.fromEntries(Object.entries({ ...olds, readyTimeoutSec, waitFor, readyExec, handover, stopTimeoutSec, docker, stopped, limits })
            .filter(([, v]) => v !== undefined)) as unknown as Outputs;
        // ... its limits (the kernel applies them to the running processes: nothing restarts) ...
        if (limits && stableJson(limits) !== stableJson(olds.limits)) {
            await connect(docker).getContainer(olds.containerId).update(limitsConfig(limits)).catch((err: unknown) => {
                throw engineError("update the limits of", `container ${olds.name}`, docker, err);
            });
        }
        // ... and whether it runs (retire, and a rollback to a retired colour).
        if (stopped && !olds.stopped) await stopServing(connect(docker), olds.containerId, outs);
        if (!stopped && olds.stopped) await startAgain(connect(docker), olds.containerId, outs);
        return { outs };
    },

    async delete(id: string, props: Outputs) {
        const docker = connect(props.docker);
        // The only balancer instance running, or a container that serves, is not removed while anything serves.
        const successor = props.handover && (await docker.listContainers({ filters: { label: [`${HANDOVER_LABEL}=${props.handover.group}`] } })).some((c) => c.Id !== id);
        if (!successor) await refuseRemoval(props as never, "remove");
        try {
            // A balancer instance drains first (its clients reconnect to the one that replaced it).
            if (props.handover) {
                await retire(docker, id, props.handover, props.stopTimeoutSec);
                return;
            }
            const c = docker.getContainer(id);
            // Graceful: SIGTERM (or the image's stop signal), then in-flight requests finish within stopTimeoutSec.
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
        // A fixed name can't run twice: old one first, also when `pulumi up --replace` skips the provider's diff.
        // Its URN goes on the container too, so the policy can tell when an update would delete one that serves.
        // (From the parent's URN as a plain promise: an output of it would make this depend on the parent component,
        // that is on all its children, itself among them.)
        const parent = opts?.parent;
        const urn = pulumi.createUrn(name, "pulumi-nodejs:dynamic/docker:Container", parent && new Promise<string>((done) => parent.urn.apply(done)));
        super(provider, name, { ...args, resourceName: name, resourceUrn: urn, containerId: undefined }, { deleteBeforeReplace: !args.handover, ...opts, additionalSecretOutputs: ["env", "guard"] }, "docker", "Container");
    }
}
