// An image on the Docker host: built from a Dockerfile directory (rebuilt when its content hash changes) or
// pulled from a registry (production). `imageId` is what containers depend on, so a rebuild replaces them.
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, statusOf, type DockerConnection } from "../docker/engine";
import { diffInputs } from "./diff";

export interface ImageBuild {
    /** Build context directory, relative to the project root (shown in errors and diffs). */
    readonly context: string;
    /** The same directory, absolute: where this checkout keeps it. */
    readonly contextDir: string;
    /** sha256 of the context (infra/docker/context.ts); a change rebuilds. */
    readonly contextHash: string;
    readonly args?: Record<string, string>;
}

export interface DockerImageArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** Reference the image gets, e.g. noteshub-api:v1.2.3. */
    readonly name: pulumi.Input<string>;
    /** Build it here; without it the image is pulled. */
    readonly build?: pulumi.Input<ImageBuild>;
    /** Untag it on delete: only for a tag no other stack uses (the balancer's `noteshub-lb:<stack prefix>`). */
    readonly removeOnDelete?: pulumi.Input<boolean>;
}

interface Inputs {
    docker: DockerConnection;
    name: string;
    build?: ImageBuild;
    removeOnDelete?: boolean;
}
interface Outputs extends Inputs {
    imageId: string;
}

/**
 * Runs a build or pull stream to its end. The engine reports failures inside the stream, not as HTTP errors;
 * the error carries the last build lines so the failing step is visible.
 */
async function follow(docker: import("dockerode"), stream: NodeJS.ReadableStream): Promise<void> {
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(
            stream,
            (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
                const failed = events?.find((e) => e.error || e.errorDetail);
                if (err) reject(err);
                else if (failed) reject(new Error(`${failed.errorDetail?.message ?? failed.error}${lines.length ? `\n  last build lines:\n    ${lines.slice(-10).join("\n    ")}` : ""}`));
                else resolve();
            },
            (e: { stream?: string }) => {
                if (e.stream?.trim()) lines.push(e.stream.trim());
            },
        ),
    );
}

/** The id the tag points at on the engine now; undefined when the tag is gone. */
async function liveId(p: Outputs): Promise<string | undefined> {
    try {
        return (await connect(p.docker).getImage(p.name).inspect()).Id;
    } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw engineError("inspect", `image ${p.name}`, p.docker, err);
    }
}

async function produce(inputs: Inputs): Promise<string> {
    const docker = connect(inputs.docker);
    const target = `image ${inputs.name}`;
    try {
        if (inputs.build) {
            const tar = require("tar-fs") as typeof import("tar-fs");
            const stream = await docker.buildImage(tar.pack(inputs.build.contextDir) as never, {
                t: inputs.name,
                buildargs: inputs.build.args ?? {},
                forcerm: true, // a failed step's container is removed too, not left behind
                labels: { "io.noteshub.context-hash": inputs.build.contextHash },
            });
            await follow(docker, stream);
        } else {
            await follow(docker, await docker.pull(inputs.name));
        }
        return (await docker.getImage(inputs.name).inspect()).Id;
    } catch (err) {
        throw engineError(inputs.build ? "build" : "pull", target, inputs.docker, err);
    }
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        // Same tag: rebuild/re-pull in place; the new imageId then replaces the containers that use it.
        // Where the checkout lives is not part of the image; the content hash is.
        const strip = (p: Inputs) => ({ ...p, build: p.build && { ...p.build, contextDir: undefined } });
        const d = diffInputs(strip(olds) as never, strip(news) as never, { outputs: ["imageId"], inPlace: ["build", "docker", "removeOnDelete"] });
        // Tags are engine-wide: another stack on this engine may have rebuilt or removed `<repository>:<version>`
        // since our last up. Then build or pull again (in place), rather than fail later starting a container.
        if (!d.changes && (await liveId(olds)) !== olds.imageId) return { ...d, changes: true };
        return d;
    },
    async create(inputs: Inputs) {
        const imageId = await produce(inputs);
        return { id: inputs.name, outs: { ...inputs, imageId } };
    },
    async update(_id: string, _olds: Outputs, news: Inputs) {
        return { outs: { ...news, imageId: await produce(news) } };
    },
    async delete(_id: string, props: Outputs) {
        // A shared tag stays. `<repository>:<version>` is engine-wide, so every stack on this engine (staging, tests,
        // drills) uses the same tag. Untagging on one stack's destroy broke the others. Old images are left for
        // `docker image prune`, the same way data volumes are left.
        if (!props.removeOnDelete) return;
        try {
            await connect(props.docker).getImage(props.name).remove();
        } catch (err) {
            if (statusOf(err) === 404 || statusOf(err) === 409) return; // gone, or a container still uses it
            throw engineError("remove", `image ${props.name}`, props.docker, err);
        }
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class DockerImage extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: DockerImageArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, imageId: undefined }, opts, "docker", "Image");
    }
}
