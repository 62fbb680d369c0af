// One colour of the app (runbook "Blue-Green Deployment"): a container at its version, sharing the uploads volume
// with the other colour. It does not know whether it is live: that is routing's business, so a colour flip never
// touches it (INVARIANTS 4).
// Its address on the stack network belongs to a small long-lived holder container (`<stack>-<colour>-addr`, the
// pod "pause" pattern, images/holder): the app container joins the holder's network namespace, so a new version
// keeps the colour's address, the balancer's upstreams stay valid, and a deploy never reloads nginx (issue #6).
// While the colour has a traffic share, neither container is ever replaced (their guard, issue #12); when one is
// stopped or replaced, its requests in flight finish first (drainSec, docker stop's grace period). A retired colour's
// app container is stopped, not removed: its logs stay, and starting it again pulls and builds nothing.
import * as pulumi from "@pulumi/pulumi";
import type { Guard } from "../../policy/liveSpec";
import type { Color } from "../config";
import type { DockerConnection } from "../docker/engine";
import type { Limits } from "../render/containerSpec";
import { colorAddress, HARDENED, HOLDER_LIMITS, READ_ONLY_ROOT, type Names } from "../names";
import { DockerContainer } from "../providers/dockerContainer";
import type { AppImage } from "./appImages";

export interface AppColorArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly names: Names;
    readonly color: Color;
    /** The version this colour runs (vX.Y.Z). */
    readonly version: string;
    /** The retained version before it; PREVIOUS_VERSION in the container, as in the runbook. */
    readonly previousVersion: string;
    readonly image: AppImage;
    /** Image the address holder runs (images/holder: pinned, never the balancer's, so a balancer upgrade never touches it). */
    readonly addressImage: { readonly ref: string; readonly imageId: pulumi.Input<string> };
    /** What the engine says runs now, per container name: each container is guarded while the colour has a share. */
    readonly guard: (container: string) => pulumi.Input<Guard>;
    /** Seconds a stopped container gets to finish its requests in flight (app.drainSec). Default 30. */
    readonly drainSec?: number;
    readonly network: pulumi.Input<string>;
    /** Uploads volume, mounted at /app/uploads in both colours. */
    readonly uploadsVolume: pulumi.Input<string>;
    /** Database connection string (secret). */
    readonly mongoUri: pulumi.Input<string>;
    /** Port the app listens on in its container. Default 8000. */
    readonly port?: number;
    /** User the container runs as (non-root). */
    readonly user: string;
    /** Extra environment (stack config app.env and app.envByVersion). */
    readonly env?: Record<string, string>;
    /** Seconds to wait for the container to be running. Default 60. */
    readonly readyTimeoutSec?: number;
    /** Retired (noteshub retire): the app container is kept stopped; its address holder keeps the colour's address. */
    readonly retired?: boolean;
    /** What the app container may use (app.limits). */
    readonly limits: Limits;
}

/** The runbook writes versions without the leading v (APP_VERSION=1.2.3). */
const bare = (v: string) => v.replace(/^v/, "");

export class AppColor extends pulumi.ComponentResource {
    /** The colour's name on the stack network (its address holder). */
    readonly host: string;
    /** The app container's name. */
    readonly appContainer: string;
    /** The address holder's container id: only a new one moves the colour's address. */
    readonly addressId: pulumi.Output<string>;
    readonly port: number;
    readonly version: string;
    readonly containerId: pulumi.Output<string>;

    constructor(name: string, args: AppColorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:app:Color", name, {}, opts);
        this.host = colorAddress(args.names, args.color);
        this.appContainer = args.names.of(args.color);
        this.port = args.port ?? 8000;
        this.version = args.version;
        const holder = new DockerContainer(`${name}-address`, {
            docker: args.docker,
            owner: args.names.owner,
            name: this.host,
            image: args.addressImage.ref,
            imageId: args.addressImage.imageId,
            env: {},
            network: args.network,
            aliases: [],
            ports: [],
            mounts: [],
            labels: { ...args.names.labels, "io.noteshub.role": "address", "io.noteshub.color": args.color },
            user: "www-data",
            ...HARDENED,
            startLimits: HOLDER_LIMITS,
            readOnlyRoot: READ_ONLY_ROOT,
            stopTimeoutSec: 2,
            readyTimeoutSec: 30,
            waitFor: "running",
            guard: args.guard(this.host),
        }, { parent: this });
        this.addressId = holder.containerId;
        const container = new DockerContainer(`${name}-container`, {
            docker: args.docker,
            owner: args.names.owner,
            name: this.appContainer,
            image: args.image.ref,
            imageId: args.image.imageId,
            env: pulumi.output(args.mongoUri).apply((uri) => ({
                ...args.env,
                APP_VERSION: bare(args.version),
                DEPLOYMENT_ENV: args.color,
                PORT: String(this.port),
                UPLOADS_DIR: "/app/uploads",
                MONGODB_URI: uri,
            })),
            // The version before this one when the colour started it: a later shift of the retained list must not
            // restart a colour that serves users (issue #12: it did, dropping requests on the first step of a deploy).
            // NOTESHUB_DRAIN_SEC: how long the app may take to finish its requests once stopped (docker stop's grace).
            startEnv: { PREVIOUS_VERSION: bare(args.previousVersion), NOTESHUB_DRAIN_SEC: String(args.drainSec ?? 30) },
            network: pulumi.interpolate`container:${holder.containerId}`,
            aliases: [],
            ports: [],
            mounts: [{ volume: args.uploadsVolume, target: "/app/uploads" }],
            labels: { ...args.names.labels, "io.noteshub.role": "app", "io.noteshub.color": args.color, "io.noteshub.version": args.version },
            user: args.user,
            ...HARDENED,
            limits: args.limits,
            // It writes only to the uploads volume (and scratch files to /tmp).
            readOnlyRoot: READ_ONLY_ROOT,
            stopTimeoutSec: args.drainSec ?? 30,
            readyTimeoutSec: args.readyTimeoutSec ?? 60,
            // Health is the gate's to judge (providers/healthGate.ts), with a clearer error than Docker's status.
            waitFor: "running",
            guard: args.guard(this.appContainer),
            // Only when retired: a colour that runs declares nothing new (no update for every stack that predates it).
            ...(args.retired ? { stopped: true } : {}),
        }, { parent: this, dependsOn: opts?.dependsOn }); // e.g. the migrations its version needs
        this.containerId = container.containerId;
        this.registerOutputs({ host: this.host, version: this.version, containerId: this.containerId, addressId: this.addressId });
    }
}
