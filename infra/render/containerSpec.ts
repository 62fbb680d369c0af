// The Docker Engine API body for one container: pure, so the exact arguments are asserted in tests (STYLE habit 9).
import type Dockerode from "dockerode";

export interface PortBinding {
    /** Port inside the container. */
    readonly container: number;
    /** Port published on the Docker host. */
    readonly host: number;
    /** Host address to bind (127.0.0.1 keeps it on the machine). */
    readonly hostIp: string;
}

export interface VolumeMount {
    readonly volume: string;
    readonly target: string;
    readonly readOnly?: boolean;
}

/** A file written into the container before it starts (the balancer's routes: each nginx instance has its own). */
export interface ContainerFile {
    /** Absolute path in the container. */
    readonly path: string;
    readonly content: string;
    /** Owner uid/gid (default 0). */
    readonly uid?: number;
    /** Permission bits (default 0o644; a private key 0o600). */
    readonly mode?: number;
}

export interface Healthcheck {
    /** Docker HEALTHCHECK test, e.g. ["CMD-SHELL", "..."]. */
    readonly test: string[];
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly retries: number;
    readonly startPeriodMs: number;
}

/** What a container may use of the host (kernel cgroups): a runaway one can't take the host, or the other colour, down. */
export interface Limits {
    readonly memoryMb: number;
    /** CPUs' worth of time (1.5 = one and a half cores). */
    readonly cpus: number;
    /** Processes and threads. */
    readonly pids: number;
}

/** Everything that defines a container; any change replaces it (containers are cattle, data lives on volumes). */
export interface ContainerSpec {
    readonly name: string;
    /** Image reference, e.g. noteshub-api:v1.2.3. */
    readonly image: string;
    /**
     * Image content id: the container is created from exactly this image, never from whatever the tag points at
     * now (issue #12: a retained version runs the exact bytes that ran before).
     */
    readonly imageId: string;
    readonly env: Record<string, string>;
    readonly command?: string[];
    readonly user?: string;
    /** The network to attach to, or "container:<id>" to share that container's network namespace (its address). */
    readonly network: string;
    readonly aliases: string[];
    readonly ports: PortBinding[];
    readonly mounts: VolumeMount[];
    readonly labels: Record<string, string>;
    readonly securityOpt: string[];
    readonly capDrop: string[];
    readonly capAdd: string[];
    readonly healthcheck?: Healthcheck;
    /** Seconds Docker waits after SIGTERM before SIGKILL when the container stops. */
    readonly stopTimeoutSec: number;
    /**
     * Keep the output in Docker's `local` log driver, rotated at this size (e.g. "20m"): for a container that logs
     * every request (the balancer's access log, read by `noteshub watch`), so it can't fill the disk.
     */
    readonly logMaxSize?: string;
    /** Namespaced kernel settings for a container that has its own network namespace (e.g. net.ipv4.tcp_migrate_req). */
    readonly sysctls?: Record<string, string>;
    /** Files written into it before it starts. */
    readonly files?: ContainerFile[];
    /** The exception to "any change replaces it": limits change in place (docker update), with no restart. */
    readonly limits?: Limits;
    /**
     * Limits set when a container is created, for one whose limits never change (the address holders): an update in
     * place would leave its id unknown to a preview, and everything in its network namespace would show as replaced.
     */
    readonly startLimits?: Limits;
    /**
     * A read-only root filesystem, with an empty tmpfs at each of these paths for scratch files. Set when a container
     * is created: a change alone leaves the running one as it is (it reaches the colour with its next container).
     */
    readonly readOnlyRoot?: { readonly tmpfs: string[] };
}

/** The HostConfig fields of `limits`, for create and for docker update alike. No swap beyond the memory limit. */
export function limitsConfig(l: Limits): { Memory: number; MemorySwap: number; NanoCpus: number; PidsLimit: number } {
    const memory = l.memoryMb * 1024 * 1024;
    return { Memory: memory, MemorySwap: memory, NanoCpus: Math.round(l.cpus * 1e9), PidsLimit: l.pids };
}

const ms = (n: number) => n * 1_000_000; // Docker wants nanoseconds

export function containerCreateOptions(s: ContainerSpec): Dockerode.ContainerCreateOptions {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of s.ports) {
        exposed[`${p.container}/tcp`] = {};
        bindings[`${p.container}/tcp`] = [{ HostIp: p.hostIp, HostPort: String(p.host) }];
    }
    const opts: Dockerode.ContainerCreateOptions = {
        name: s.name,
        Image: s.imageId || s.image,
        Env: Object.entries(s.env).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`),
        Labels: s.labels,
        ExposedPorts: exposed,
        StopTimeout: s.stopTimeoutSec,
        HostConfig: {
            NetworkMode: s.network,
            PortBindings: bindings,
            Mounts: s.mounts.map((m) => ({ Type: "volume", Source: m.volume, Target: m.target, ReadOnly: m.readOnly === true })),
            RestartPolicy: { Name: "unless-stopped" },
            SecurityOpt: s.securityOpt,
            CapDrop: s.capDrop,
            CapAdd: s.capAdd,
            Privileged: false,
            Init: true,
        },
        NetworkingConfig: { EndpointsConfig: { [s.network]: { Aliases: s.aliases } } },
    };
    // "container:<id>": join another container's network namespace (its address); nothing to attach or publish.
    if (s.network.startsWith("container:")) {
        if (s.ports.length || s.aliases.length) throw new Error(`container ${s.name}: a container in another's network (${s.network}) can't publish ports or take aliases`);
        delete opts.NetworkingConfig;
        delete opts.ExposedPorts;
        delete opts.HostConfig!.PortBindings;
    }
    if (s.sysctls && Object.keys(s.sysctls).length) opts.HostConfig!.Sysctls = s.sysctls;
    const limits = s.limits ?? s.startLimits;
    if (limits) Object.assign(opts.HostConfig!, limitsConfig(limits));
    if (s.readOnlyRoot) {
        opts.HostConfig!.ReadonlyRootfs = true;
        opts.HostConfig!.Tmpfs = Object.fromEntries(s.readOnlyRoot.tmpfs.map((p) => [p, "rw,nosuid,nodev,noexec,size=64m"]));
    }
    if (s.logMaxSize) opts.HostConfig!.LogConfig = { Type: "local", Config: { "max-size": s.logMaxSize, "max-file": "3" } };
    if (s.command) opts.Cmd = s.command;
    if (s.user) opts.User = s.user;
    if (s.healthcheck) {
        opts.Healthcheck = {
            Test: s.healthcheck.test,
            Interval: ms(s.healthcheck.intervalMs),
            Timeout: ms(s.healthcheck.timeoutMs),
            Retries: s.healthcheck.retries,
            StartPeriod: ms(s.healthcheck.startPeriodMs),
        };
    }
    return opts;
}
