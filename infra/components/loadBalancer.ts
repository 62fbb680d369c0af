// The NGINX load balancer (runbook "Load Balancer / NGINX"): one long-lived container publishing the stack's port,
// a health gate per colour, and the routes and traffic state as a separate resource that depends on the gate of
// every colour with a share. So a colour switch or a traffic step rewrites the state without touching a container
// or reloading nginx, and a failed gate leaves traffic where it was.
import * as pulumi from "@pulumi/pulumi";
import { COLORS, type Color } from "../config";
import { buildFrom } from "../docker/context";
import type { DockerConnection } from "../docker/engine";
import { HARDENED, type Names } from "../names";
import { DockerContainer } from "../providers/dockerContainer";
import { DockerImage } from "../providers/dockerImage";
import { HealthGate, type GateSettings } from "../providers/healthGate";
import { LbConfig } from "../providers/lbConfig";
import { renderRoutes, renderState, weightsOf, type Backend } from "../render/nginx";

export interface LbBackend extends Backend {
    /** The colour's app container and image: a new one re-runs its gate. */
    readonly containerId: pulumi.Input<string>;
    readonly imageId: pulumi.Input<string>;
    /** The container that holds the colour's address; only a new one changes the upstreams (and reloads nginx). */
    readonly addressId: pulumi.Input<string>;
    /** The app container's name, for the gate's "look at its logs" advice. */
    readonly appContainer: string;
}

export interface LoadBalancerArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly names: Names;
    readonly network: pulumi.Input<string>;
    /** Build context of the balancer image. Default images/nginx. */
    readonly buildContext?: string;
    /** Host port and address to publish. */
    readonly port: number;
    readonly bindAddress: string;
}

export interface RoutingArgs {
    /** The colour being promoted (or live): it gets `traffic` percent, the other colour the rest. */
    readonly active: Color;
    /** Percent of requests for the active colour (stack config `traffic`). */
    readonly traffic: number;
    readonly backends: Record<Color, LbBackend>;
    readonly gate: GateSettings;
}

/** Port nginx listens on inside its container (unprivileged, so it runs as www-data). */
export const LB_LISTEN_PORT = 8080;

/**
 * Built in two steps: the constructor makes the image and the container (the colours' address holders run the same
 * image, so it comes first); route() adds the gates and the routes once the colours exist.
 */
export class LoadBalancer extends pulumi.ComponentResource {
    readonly url: string;
    readonly containerId: pulumi.Output<string>;
    /** The balancer image, also run by each colour's address holder (components/appColor.ts). */
    readonly image: { readonly ref: string; readonly imageId: pulumi.Output<string> };
    gates!: Record<Color, HealthGate>;
    private readonly args: LoadBalancerArgs;
    private readonly name: string;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:lb:LoadBalancer", name, {}, opts);
        const context = args.buildContext ?? "images/nginx";
        const ref = `noteshub-lb:${args.names.prefix}`;
        const image = new DockerImage(`${name}-image`, { docker: args.docker, name: ref, build: buildFrom(context), removeOnDelete: true }, { parent: this });
        const container = new DockerContainer(`${name}-container`, {
            docker: args.docker,
            owner: args.names.owner,
            name: args.names.of("lb"),
            image: ref,
            imageId: image.imageId,
            env: {},
            network: args.network,
            aliases: [],
            ports: [{ container: LB_LISTEN_PORT, host: args.port, hostIp: args.bindAddress }],
            mounts: [],
            labels: { ...args.names.labels, "io.noteshub.role": "load-balancer" },
            // The image's own user, stated so the policy pack can see it (policy/containers.ts).
            user: "www-data",
            ...HARDENED,
            stopTimeoutSec: 10,
            logMaxSize: "20m", // the access log: every request, read by noteshub watch (cli/monitor)
            readyTimeoutSec: 30,
        }, { parent: this });
        const host = args.bindAddress === "0.0.0.0" ? "127.0.0.1" : args.bindAddress;
        this.url = `http://${host}:${args.port}`;
        this.containerId = container.containerId;
        this.image = { ref, imageId: image.imageId };
        this.args = args;
        this.name = name;
    }

    /** The gates and the routes: traffic as declared, once every colour with a share has passed its gate. */
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
        }, { parent: this });
        this.gates = { blue: gate("blue"), green: gate("green") };
        const content = renderRoutes({ stack: args.names.prefix, backends: r.backends, listenPort: LB_LISTEN_PORT });
        const versions = { blue: r.backends.blue.version, green: r.backends.green.version };
        const state = renderState({ stack: args.names.prefix, active: r.active, traffic: r.traffic, versions });
        const receiving = COLORS.filter((c) => weights[c] > 0);
        new LbConfig(`${name}-routes`, {
            docker: args.docker,
            containerId: this.containerId,
            content,
            state,
            // The address holders, not the app containers: a new version keeps its colour's address, so no reload.
            backends: Object.fromEntries(COLORS.map((c) => [c, r.backends[c].addressId])),
            // Traffic moves only once every colour that gets a share has just passed its gate (INVARIANTS 1).
            gates: Object.fromEntries(receiving.map((c) => [c, this.gates[c].passedAt])),
            weights,
        }, { parent: this });
        this.registerOutputs({ url: this.url, containerId: this.containerId });
    }
}
