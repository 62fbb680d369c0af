// The NGINX load balancer (runbook "Load Balancer / NGINX"), built so that nothing about it ever drops a request
// (issue #12):
// - a long-lived holder (`<stack>-lb`, images/holder) publishes the stack's port and owns the traffic state volume;
//   it never changes with the balancer image, the routes or the colours, and is never replaced while it serves;
// - nginx instances (`<stack>-lb-<hash>`) run in the holder's network namespace and listen with reuseport. A new
//   balancer image or new routes (a colour's address moved) is a new instance, started beside the old one; once it
//   answers, the old one drains (its answers close their connections, so clients reconnect to the new one) and quits
//   gracefully (docker/handover.ts). nginx is never reloaded;
// - the traffic state (which colour gets what share) is one file in the volume, read per request by every instance,
//   swapped atomically after the gate of every colour with a share has passed (INVARIANTS 1, 2).
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { stableJson, type Guard } from "../../policy/liveSpec";
import { COLORS, type Color } from "../config";
import { buildFrom, hashContext } from "../docker/context";
import type { DockerConnection } from "../docker/engine";
import { STATE_DIR } from "../docker/live";
import { HARDENED, HOLDER_LIMITS, READ_ONLY_ROOT, type Names } from "../names";
import { fromRoot } from "../paths";
import { DockerContainer } from "../providers/dockerContainer";
import { DockerImage } from "../providers/dockerImage";
import { DockerVolume } from "../providers/dockerVolume";
import { HealthGate, type GateSettings } from "../providers/healthGate";
import { TrafficState } from "../providers/trafficState";
import { Routes } from "../providers/routes";
import type { Limits } from "../render/containerSpec";
import { renderState, TLS_CERT_PATH, TLS_KEY_PATH, weightsOf, type Backend, type Maintenance } from "../render/nginx";
import type { TlsMaterial } from "../tls";

export interface LbBackend extends Backend {
    /** The colour's app container and image: a new one re-runs its gate. */
    readonly containerId: pulumi.Input<string>;
    readonly imageId: pulumi.Input<string>;
    /** The container that holds the colour's address; a new one means new routes, so a new nginx instance. */
    readonly addressId: pulumi.Input<string>;
    /** The app container's name, for the gate's "look at its logs" advice. */
    readonly appContainer: string;
}

export interface LoadBalancerArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly names: Names;
    readonly network: pulumi.Input<string>;
    /** The holder image (images/holder), pinned. */
    readonly holderImage: { readonly ref: string; readonly imageId: pulumi.Input<string> };
    /** Build context of the nginx image. Default images/nginx. */
    readonly buildContext?: string;
    /** Host port and address to publish. */
    readonly port: number;
    readonly bindAddress: string;
    /** The host users reach (loadBalancer.hostname, or its default: publicHost in infra/index.ts). */
    readonly publicHost: string;
    /** HTTPS (loadBalancer.tls): the checked certificate and key, the host port, HSTS. */
    readonly tls?: { readonly material: TlsMaterial; readonly port: number; readonly hstsMaxAgeSec: number };
    /** Longest wait for an old nginx instance's clients to move before it quits anyway (loadBalancer.drainSec). */
    readonly drainSec: number;
    /** Set net.ipv4.tcp_migrate_req in the holder's network namespace (loadBalancer.migrateAcceptQueue, Linux 5.14+). */
    readonly migrateAcceptQueue: boolean;
    /** What each nginx instance may use (loadBalancer.limits). */
    readonly limits: Limits;
    /** What the engine says runs now: the holder is guarded while any colour has a share. */
    readonly guard: (container: string) => pulumi.Input<Guard>;
}

export interface RoutingArgs {
    /** The colour being promoted (or live): it gets `traffic` percent, the other colour the rest. */
    readonly active: Color;
    /** Percent of requests for the active colour (stack config `traffic`). */
    readonly traffic: number;
    readonly backends: Record<Color, LbBackend>;
    readonly gate: GateSettings;
    /** Maintenance mode: users get 503 with the message (the colours keep their shares and gates). */
    readonly maintenance?: Maintenance;
    /** The retired colour (stopped): its gate probes nothing. */
    readonly retired?: Color;
    /** loadBalancer.previewToken: requests carrying it reach the idle colour (only its digest is written). */
    readonly previewToken?: string;
}

/** Ports nginx listens on inside the holder's network namespace (unprivileged, so it runs as www-data). */
export const LB_LISTEN_PORT = 8080;
export const LB_TLS_PORT = 8443;

/** Ready: the instance answers on its own sockets and routes through its njs (images/nginx/ready.sh). */
const READY = ["noteshub-ready"];

const shortHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 10);

/**
 * Built in two steps: the constructor makes the holder (the colours' gates probe from it, and their routes need
 * their address holders); route() adds the gates, the nginx instance and the traffic state once the colours exist.
 */
export class LoadBalancer extends pulumi.ComponentResource {
    readonly url: string;
    /** The holder's container id: probes run in it, the traffic state is swapped in it. */
    readonly containerId: pulumi.Output<string>;
    gates!: Record<Color, HealthGate>;
    private readonly args: LoadBalancerArgs;
    private readonly name: string;
    private readonly stateVolume: pulumi.Output<string>;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:lb:LoadBalancer", name, {}, opts);
        this.stateVolume = new DockerVolume(`${name}-state`, {
            docker: args.docker,
            name: args.names.of("lbstate"),
            labels: { ...args.names.labels, "io.noteshub.data": "traffic-state" },
            removeOnDelete: true,
        }, { parent: this }).name;
        const holderName = args.names.of("lb");
        const holder = new DockerContainer(`${name}-container`, {
            docker: args.docker,
            owner: args.names.owner,
            name: holderName,
            image: args.holderImage.ref,
            imageId: args.holderImage.imageId,
            env: {},
            network: args.network,
            aliases: [],
            ports: [
                { container: LB_LISTEN_PORT, host: args.port, hostIp: args.bindAddress },
                ...(args.tls ? [{ container: LB_TLS_PORT, host: args.tls.port, hostIp: args.bindAddress }] : []),
            ],
            // A new volume is filled from the image on first mount: the state directory, owned by www-data.
            mounts: [{ volume: this.stateVolume, target: STATE_DIR }],
            labels: { ...args.names.labels, "io.noteshub.role": "load-balancer" },
            // The image's own user, stated so the policy pack can see it (policy/containers.ts).
            user: "www-data",
            ...HARDENED,
            startLimits: HOLDER_LIMITS,
            // It writes only to the traffic state volume (and /tmp).
            readOnlyRoot: READ_ONLY_ROOT,
            // When an old instance's listening sockets close, connections still in its accept queue move to the new
            // instance's instead of being reset (Linux 5.14+, per network namespace).
            sysctls: args.migrateAcceptQueue ? { "net.ipv4.tcp_migrate_req": "1" } : {},
            stopTimeoutSec: 2,
            readyTimeoutSec: 30,
            waitFor: "running",
            guard: args.guard(holderName),
        }, { parent: this });
        const host = args.publicHost;
        this.url = args.tls
            ? `https://${host}${args.tls.port === 443 ? "" : `:${args.tls.port}`}`
            : `http://${host}${args.port === 80 ? "" : `:${args.port}`}`;
        this.containerId = holder.containerId;
        this.args = args;
        this.name = name;
    }

    /** The gates, the nginx instance and the traffic state: traffic as declared, once every colour with a share passed its gate. */
    route(r: RoutingArgs): void {
        const { args, name } = this;
        const weights = weightsOf(r.active, r.traffic);
        const gate = (color: Color) => new HealthGate(`${name}-gate-${color}`, {
            docker: args.docker,
            probeContainerId: this.containerId,
            color,
            host: r.backends[color].host,
            port: r.backends[color].port,
            version: r.backends[color].version,
            container: r.backends[color].appContainer,
            live: weights[color] > 0,
            guards: { containerId: r.backends[color].containerId, imageId: r.backends[color].imageId },
            settings: r.gate,
            ...(r.retired === color ? { retired: true } : {}),
        }, { parent: this });
        this.gates = { blue: gate("blue"), green: gate("green") };
        const instance = this.nginx(r);
        const versions = { blue: r.backends.blue.version, green: r.backends.green.version };
        const receiving = COLORS.filter((c) => weights[c] > 0);
        new TrafficState(`${name}-traffic`, {
            docker: args.docker,
            containerId: this.containerId,
            state: renderState({ stack: args.names.prefix, active: r.active, traffic: r.traffic, versions, maintenance: r.maintenance, previewToken: r.previewToken }),
            // Traffic moves only once every colour that gets a share has just passed its gate (INVARIANTS 1).
            gates: Object.fromEntries(receiving.map((c) => [c, this.gates[c].passedAt])),
            weights,
        }, { parent: this, dependsOn: [instance] }); // ... and is served by an instance that knows both addresses
        this.registerOutputs({ url: this.url, containerId: this.containerId });
    }

    /** The nginx instance for these routes and this image; named by both, so new ones start beside the old one. */
    private nginx(r: RoutingArgs): DockerContainer {
        const { args, name } = this;
        const context = args.buildContext ?? "images/nginx";
        // The image is named by its context's content: a changed images/nginx is a new image, so a new instance.
        const contentHash = hashContext(fromRoot(context)).slice(0, 12);
        const image = new DockerImage(`${name}-image`, {
            docker: args.docker,
            name: `${args.names.image("lb")}:${contentHash}`,
            build: buildFrom(context),
            identity: contentHash,
            removeOnDelete: true,
            purpose: "the balancer",
        }, { parent: this });
        const routes = new Routes(`${name}-routes`, {
            stack: args.names.prefix,
            backends: Object.fromEntries(COLORS.map((c) => [c, { host: r.backends[c].host, port: r.backends[c].port, addressId: r.backends[c].addressId }])),
            listenPort: LB_LISTEN_PORT,
            tls: args.tls ? { listenPort: LB_TLS_PORT, publicPort: args.tls.port, hstsMaxAgeSec: args.tls.hstsMaxAgeSec } : undefined,
        }, { parent: this }).content;
        // The certificate and key are written into the instance like its routes: a new certificate is a new instance
        // beside the old one, never a reload. The key stays a secret in state; the instance is named by its hash.
        const tlsFiles = (key: pulumi.Input<string>) => args.tls
            ? [
                { path: TLS_CERT_PATH, content: args.tls.material.certificate, uid: 33 },
                { path: TLS_KEY_PATH, content: key, uid: 33, mode: 0o600 },
            ]
            : [];
        const spec = {
            docker: args.docker,
            owner: args.names.owner,
            image: image.name,
            imageId: image.imageId,
            env: {},
            network: pulumi.interpolate`container:${this.containerId}`,
            aliases: [],
            ports: [],
            mounts: [{ volume: this.stateVolume, target: STATE_DIR, readOnly: true }],
            files: [{ path: "/etc/nginx/noteshub/routes.conf", content: routes, uid: 33 }, ...tlsFiles(args.tls?.material.fingerprint ?? "")],
            labels: { ...args.names.labels, "io.noteshub.role": "balancer" },
            user: "www-data",
            ...HARDENED,
            stopTimeoutSec: 30, // in-flight requests finish after SIGQUIT (images/nginx STOPSIGNAL)
            logMaxSize: "20m", // the access log: every request, read by noteshub watch (cli/monitor)
            readyTimeoutSec: 30,
            waitFor: "running" as const,
            readyExec: READY,
            handover: pulumi.output(args.network).apply((trialNetwork) => ({ group: args.names.of("lb"), drain: ["noteshub-drain"], connections: ["noteshub-connections"], drainSec: args.drainSec, trialNetwork })),
        };
        // The only instance is never removed while any colour serves (a handover always has a successor running).
        const guard = pulumi.secret(pulumi.output(args.guard(args.names.of("lb"))).apply((g) => ({ ...g, what: "the only nginx instance", running: null })));
        // Named by everything it is: any change is a new instance beside the old one, never the old one stopped first.
        // (The key's place in the spec holds its fingerprint for naming; the instance gets the key itself, a secret.)
        const instanceName = pulumi.output(spec).apply((resolved) => `${args.names.of("lb")}-${shortHash(stableJson(resolved))}`);
        const files = args.tls ? [spec.files[0], ...tlsFiles(pulumi.secret(args.tls.material.key))] : spec.files;
        // Its limits change in place, so they are not part of its name.
        return new DockerContainer(`${name}-nginx`, { ...spec, files, name: instanceName, guard, limits: args.limits }, { parent: this });
    }
}
