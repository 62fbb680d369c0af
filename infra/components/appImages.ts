// The images of the three retained versions (runbook "Version History"): built locally in staging, pulled in
// production, all present on the Docker host so a rollback to any of them never waits for a build or a pull.
// Each is pinned when first built or pulled (providers/dockerImage.ts, issue #12): a retained version always runs
// the bytes it first ran; new code goes out as a new version. A build goes under the stack's own repository
// (names.localRef), pulled ones too, so no other stack's build or pull (the tests' included) can move its tags.
import * as pulumi from "@pulumi/pulumi";
import { buildFrom } from "../docker/context";
import type { DockerConnection } from "../docker/engine";
import type { Names } from "../names";
import { DockerImage, type RegistryAuth } from "../providers/dockerImage";

export interface AppImagesArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly names: Names;
    /** Image repository: version v is pulled from `<repository>:<v>`, or built; either way tagged names.localRef of it. */
    readonly repository: string;
    /** The retained versions. */
    readonly versions: readonly string[];
    /** Build context to build each version from (with APP_VERSION=<version>); unset: pull. */
    readonly buildContext?: string;
    /** The digest each released version was pushed as (app.digests): pulled by it, those bytes and no others. */
    readonly digests?: Readonly<Record<string, string>>;
    /** Credentials for the repository's registry (a secret). */
    readonly auth?: pulumi.Input<RegistryAuth>;
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
            const ref = args.names.localRef(`${args.repository}:${v}`);
            const image = new DockerImage(`${name}-${v}`, {
                docker: args.docker,
                name: ref,
                source: args.buildContext ? undefined : args.digests?.[v] ? `${args.repository}:${v}@${args.digests[v]}` : `${args.repository}:${v}`,
                auth: args.buildContext ? undefined : args.auth,
                build: args.buildContext ? buildFrom(args.buildContext, { APP_VERSION: v }) : undefined,
                removeOnDelete: true,
                purpose: `retained version ${v}`,
            }, { parent: this });
            byVersion[v] = { ref, imageId: image.imageId };
        }
        this.byVersion = byVersion;
        this.registerOutputs({ versions: args.versions });
    }
}
