// The images of the three retained versions (runbook "Version History"): built locally in staging, pulled in
// production, all present on the Docker host so a rollback to any of them never waits for a build or a pull.
import * as pulumi from "@pulumi/pulumi";
import { buildFrom } from "../docker/context";
import type { DockerConnection } from "../docker/engine";
import { DockerImage } from "../providers/dockerImage";

export interface AppImagesArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** Image repository; version v is `<repository>:<v>`. */
    readonly repository: string;
    /** The retained versions. */
    readonly versions: readonly string[];
    /** Build context to build each version from (with APP_VERSION=<version>); unset: pull. */
    readonly buildContext?: string;
}

export interface AppImage {
    readonly ref: string;
    readonly imageId: pulumi.Output<string>;
}

export class AppImages extends pulumi.ComponentResource {
    readonly byVersion: Readonly<Record<string, AppImage>>;

    constructor(name: string, args: AppImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:app:Images", name, {}, opts);
        const byVersion: Record<string, AppImage> = {};
        for (const v of args.versions) {
            const ref = `${args.repository}:${v}`;
            const image = new DockerImage(`${name}-${v}`, {
                docker: args.docker,
                name: ref,
                build: args.buildContext ? buildFrom(args.buildContext, { APP_VERSION: v }) : undefined,
            }, { parent: this });
            byVersion[v] = { ref, imageId: image.imageId };
        }
        this.byVersion = byVersion;
        this.registerOutputs({ versions: args.versions });
    }
}
