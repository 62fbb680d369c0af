// One colour of the app (runbook "Blue-Green Deployment"): a container at its version, on the stack's network,
// sharing the uploads volume with the other colour. It does not know whether it is live: that is routing's
// business, so a colour flip never touches it (INVARIANTS 4).
import * as pulumi from "@pulumi/pulumi";
import type { Color } from "../config";
import type { DockerConnection } from "../docker/engine";
import { HARDENED, type Names } from "../names";
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
}

/** The runbook writes versions without the leading v (APP_VERSION=1.2.3). */
const bare = (v: string) => v.replace(/^v/, "");

export class AppColor extends pulumi.ComponentResource {
    /** Container name on the stack network. */
    readonly host: string;
    readonly port: number;
    readonly version: string;
    readonly containerId: pulumi.Output<string>;

    constructor(name: string, args: AppColorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:app:Color", name, {}, opts);
        this.host = args.names.of(args.color);
        this.port = args.port ?? 8000;
        this.version = args.version;
        const container = new DockerContainer(`${name}-container`, {
            docker: args.docker,
            owner: args.names.owner,
            name: this.host,
            image: args.image.ref,
            imageId: args.image.imageId,
            env: pulumi.output(args.mongoUri).apply((uri) => ({
                ...args.env,
                APP_VERSION: bare(args.version),
                DEPLOYMENT_ENV: args.color,
                PREVIOUS_VERSION: bare(args.previousVersion),
                PORT: String(this.port),
                UPLOADS_DIR: "/app/uploads",
                MONGODB_URI: uri,
            })),
            network: args.network,
            aliases: [],
            ports: [],
            mounts: [{ volume: args.uploadsVolume, target: "/app/uploads" }],
            labels: { ...args.names.labels, "io.noteshub.role": "app", "io.noteshub.color": args.color, "io.noteshub.version": args.version },
            user: args.user,
            ...HARDENED,
            stopTimeoutSec: 15,
            readyTimeoutSec: args.readyTimeoutSec ?? 60,
            // Health is the gate's to judge (providers/healthGate.ts), with a clearer error than Docker's status.
            waitFor: "running",
        }, { parent: this, dependsOn: opts?.dependsOn }); // e.g. the migrations its version needs
        this.containerId = container.containerId;
        this.registerOutputs({ host: this.host, version: this.version, containerId: this.containerId });
    }
}
