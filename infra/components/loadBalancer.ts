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
    /** The colour's container and image: a new one re-runs its gate. */
    readonly containerId: pulumi.Input<string>;
    readonly imageId: pulumi.Input<string>;
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
    /** The colour being promoted (or live): it gets `traffic` percent, the other colour the rest. */
    readonly active: Color;
    /** Percent of requests for the active colour (stack config `traffic`). */
    readonly traffic: number;
    readonly backends: Record<Color, LbBackend>;
    readonly gate: GateSettings;
}

/** Port nginx listens on inside its container (unprivileged, so it runs as www-data). */
export const LB_LISTEN_PORT = 8080;

export class LoadBalancer extends pulumi.ComponentResource {
    readonly url: string;
    readonly containerId: pulumi.Output<string>;
    readonly gates: Record<Color, HealthGate>;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:lb:LoadBalancer", name, {}, opts);
        const context = args.buildContext ?? "images/nginx";
        const ref = `noteshub-lb:${args.names.prefix}`;
        const image = new DockerImage(`${name}-image`, { docker: args.docker, name: ref, build: buildFrom(context) }, { parent: this });
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
            readyTimeoutSec: 30,
        }, { parent: this });
        const weights = weightsOf(args.active, args.traffic);
        const gate = (color: Color) => new HealthGate(`${name}-gate-${color}`, {
            docker: args.docker,
            probeContainerId: container.containerId,
            color,
            host: args.backends[color].host,
            port: args.backends[color].port,
            version: args.backends[color].version,
            live: weights[color] > 0,
            guards: { containerId: args.backends[color].containerId, imageId: args.backends[color].imageId },
            settings: args.gate,
        }, { parent: this });
        this.gates = { blue: gate("blue"), green: gate("green") };
        const content = renderRoutes({ stack: args.names.prefix, backends: args.backends, listenPort: LB_LISTEN_PORT });
        const versions = { blue: args.backends.blue.version, green: args.backends.green.version };
        const state = renderState({ stack: args.names.prefix, active: args.active, traffic: args.traffic, versions });
        const receiving = COLORS.filter((c) => weights[c] > 0);
        new LbConfig(`${name}-routes`, {
            docker: args.docker,
            containerId: container.containerId,
            content,
            state,
            backends: Object.fromEntries(COLORS.map((c) => [c, args.backends[c].containerId])),
            // Traffic moves only once every colour that gets a share has just passed its gate (INVARIANTS 1).
            gates: Object.fromEntries(receiving.map((c) => [c, this.gates[c].passedAt])),
            weights,
        }, { parent: this });
        const host = args.bindAddress === "0.0.0.0" ? "127.0.0.1" : args.bindAddress;
        this.url = `http://${host}:${args.port}`;
        this.containerId = container.containerId;
        this.registerOutputs({ url: this.url, containerId: this.containerId });
    }
}
