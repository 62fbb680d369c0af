// The NGINX load balancer (runbook "Load Balancer / NGINX"): one long-lived container publishing the stack's
// port, and its routes as a separate resource so a colour flip rewrites routes without touching a container.
import * as pulumi from "@pulumi/pulumi";
import type { Color } from "../config";
import { buildFrom } from "../docker/context";
import type { DockerConnection } from "../docker/engine";
import { HARDENED, type Names } from "../names";
import { DockerContainer } from "../providers/dockerContainer";
import { DockerImage } from "../providers/dockerImage";
import { LbConfig } from "../providers/lbConfig";
import { renderRoutes, type Backend } from "../render/nginx";

export interface LoadBalancerArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly names: Names;
    readonly network: pulumi.Input<string>;
    /** Build context of the balancer image. Default images/nginx. */
    readonly buildContext?: string;
    /** Host port and address to publish. */
    readonly port: number;
    readonly bindAddress: string;
    /** The colour that gets 100 % of traffic. */
    readonly active: Color;
    readonly backends: Record<Color, Backend & { readonly containerId: pulumi.Input<string> }>;
}

/** Port nginx listens on inside its container (unprivileged, so it runs as www-data). */
export const LB_LISTEN_PORT = 8080;

export class LoadBalancer extends pulumi.ComponentResource {
    readonly url: string;
    readonly containerId: pulumi.Output<string>;
    readonly routes: pulumi.Output<string>;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:lb:LoadBalancer", name, {}, opts);
        const context = args.buildContext ?? "images/nginx";
        const ref = `noteshub-lb:${args.names.prefix}`;
        const image = new DockerImage(`${name}-image`, {
            docker: args.docker,
            name: ref,
            build: buildFrom(context),
        }, { parent: this });
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
            ...HARDENED,
            stopTimeoutSec: 10,
            readyTimeoutSec: 30,
        }, { parent: this });
        const content = renderRoutes({ stack: args.names.prefix, active: args.active, backends: args.backends, listenPort: LB_LISTEN_PORT });
        const routes = new LbConfig(`${name}-routes`, {
            docker: args.docker,
            containerId: container.containerId,
            content,
            backends: { blue: args.backends.blue.containerId, green: args.backends.green.containerId },
        }, { parent: this });
        const host = args.bindAddress === "0.0.0.0" ? "127.0.0.1" : args.bindAddress;
        this.url = `http://${host}:${args.port}`;
        this.containerId = container.containerId;
        this.routes = routes.content;
        this.registerOutputs({ url: this.url, containerId: this.containerId });
    }
}
