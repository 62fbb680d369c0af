// An image on the Docker host, pinned (issue #12, INVARIANTS 4): when it is first built or pulled, its image id (and
// its registry digest, when pulled) is recorded in state, and containers are created from that id. It carries a tag
// only this stack uses (`name`, under the stack's own repository), also when it is pulled from a shared one
// (`source`): another stack pulling or building the same reference never moves it. After that:
// - a changed build context never rebuilds it: a retained version is immutable; new code goes out as a new version
//   (a new tag, so a new resource);
// - the stack's tag pointing at another image is refused at preview, with both ids: never silently picked up;
// - a lost tag is put back on the pinned image; an image the host lost is pulled again by its digest (the same
//   bytes). A local build the host lost can't be had again: the container that needs it says so when it is created.
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, statusOf, type DockerConnection } from "../docker/engine";
import { parseRef, pullRef as byDigestOrTag } from "../docker/ref";
import { diffInputs, stableJson } from "./diff";

export interface ImageBuild {
    /** Build context directory, relative to the project root (shown in errors and diffs). */
    readonly context: string;
    /** The same directory, absolute: where this checkout keeps it. */
    readonly contextDir: string;
    readonly args?: Record<string, string>;
}

export interface DockerImageArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** The stack's own tag for it, e.g. noteshub-staging/noteshub-api:v1.2.3. */
    readonly name: pulumi.Input<string>;
    /** Pull it from this reference (registry/repo:v1.2.3, mongo:7.0); unset: build it. */
    readonly source?: pulumi.Input<string>;
    /** Build it here (when there is no source). */
    readonly build?: pulumi.Input<ImageBuild>;
    /** Untag it on delete: for a tag only this stack uses (what it built under its own prefix). */
    readonly removeOnDelete?: pulumi.Input<boolean>;
    /** What it is, for messages: "retained version v1.2.3", "the balancer". */
    readonly purpose?: pulumi.Input<string>;
    /** What makes it this image beyond its source or build arguments (the balancer's context hash): another is a new image. */
    readonly identity?: pulumi.Input<string>;
    /** Credentials for the source's registry (pass them as a secret); the engine gets them with each pull. */
    readonly auth?: pulumi.Input<RegistryAuth>;
}

export interface RegistryAuth {
    readonly serveraddress: string;
    readonly username: string;
    readonly password: string;
}

interface Inputs {
    docker: DockerConnection;
    name: string;
    source?: string;
    build?: ImageBuild;
    removeOnDelete?: boolean;
    purpose?: string;
    identity?: string;
    auth?: RegistryAuth;
}
interface Outputs extends Inputs {
    /** The pinned image id. */
    imageId: string;
    /** `repository@sha256:...` when it came from a registry. */
    repoDigest?: string;
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

/** The id an image reference (a tag or an id) resolves to on the engine now; undefined when it is gone. */
async function idOf(conn: DockerConnection, ref: string): Promise<string | undefined> {
    try {
        return (await connect(conn).getImage(ref).inspect()).Id;
    } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw engineError("inspect", `image ${ref}`, conn, err);
    }
}

/** repo:tag -> [repo, tag] (a registry host's port is not a tag, nor is a digest's colon). */
function splitRef(ref: string): [string, string] {
    const r = parseRef(ref);
    return [r.repo, r.tag ?? "latest"];
}

async function produce(inputs: Inputs, pullRef = inputs.source ?? inputs.name): Promise<Pick<Outputs, "imageId" | "repoDigest">> {
    const docker = connect(inputs.docker);
    const target = `image ${inputs.name}`;
    try {
        if (inputs.build && !inputs.source) {
            const tar = require("tar-fs") as typeof import("tar-fs");
            const stream = await docker.buildImage(tar.pack(inputs.build.contextDir) as never, {
                t: inputs.name,
                buildargs: inputs.build.args ?? {},
                forcerm: true, // a failed step's container is removed too, not left behind
            });
            await follow(docker, stream);
            return { imageId: (await docker.getImage(inputs.name).inspect()).Id };
        }
        // By digest when the reference has one: the engine then checks the bytes it gets against it.
        const ref = byDigestOrTag(parseRef(pullRef));
        await follow(docker, await docker.pull(ref, inputs.auth ? { authconfig: inputs.auth } : {}));
        const info = await docker.getImage(ref).inspect();
        const [repo, tag] = splitRef(inputs.name);
        await docker.getImage(info.Id).tag({ repo, tag });
        const from = splitRef(inputs.source ?? inputs.name)[0];
        return { imageId: info.Id, repoDigest: info.RepoDigests?.find((d) => d.startsWith(`${from}@`)) ?? info.RepoDigests?.[0] };
    } catch (err) {
        throw engineError(inputs.build && !inputs.source ? "build" : "pull", target, inputs.docker, err);
    }
}

/**
 * Why this is another image than the one recorded (another identity, name:tag or build arguments), or undefined when it
 * is the same image under the stack's new prefix, from another registry, over another engine connection, or built from
 * a moved directory: then its recorded bytes are kept (a retained version is immutable), nothing is built or pulled.
 */
export function otherImage(olds: Pick<Outputs, "identity" | "source" | "name" | "build" | "repoDigest">, news: Pick<Inputs, "identity" | "source" | "name" | "build">): string | undefined {
    if (olds.identity !== news.identity) return "identity";
    // What the image is called past its registry and the stack's prefix, its digest aside: mongo:7.0, noteshub-api:v1.2.3.
    const tail = (ref: string) => {
        const r = parseRef(ref);
        return `${r.repo.split("/").pop()}:${r.tag ?? "latest"}`;
    };
    if (tail(olds.source ?? olds.name) !== tail(news.source ?? news.name)) return news.source ? "source" : "name";
    // A digest pinned now (a release recorded it) names the same image when it is the one recorded at the pull.
    const pinned = news.source ? parseRef(news.source).digest : undefined;
    const had = olds.repoDigest?.split("@")[1] ?? (olds.source ? parseRef(olds.source).digest : undefined);
    if (pinned && had && pinned !== had) return "source";
    if (news.build && !news.source && stableJson(olds.build?.args ?? {}) !== stableJson(news.build.args ?? {})) return "build";
    return undefined;
}

/** The refusal for a tag that moved (pure, so its words are tested exactly). */
export function movedTagError(p: Pick<Outputs, "name" | "imageId" | "purpose" | "build">, now: string): string {
    const what = p.purpose ? ` (${p.purpose})` : "";
    const origin = p.build ? "built" : "pulled";
    return `image ${p.name}${what}: the tag now points at ${now}, but this stack ${origin} and recorded ${p.imageId}. `
        + `A retained version is immutable: release the new build as a new version (npm run noteshub -- deploy <new version>). `
        + `To keep running what was recorded, put the tag back: docker tag ${p.imageId} ${p.name}. Nothing was changed.`;
}

/** A container about to be created from a local build the host lost (infra/providers/dockerContainer.ts). */
export function lostBuildError(ref: string, imageId: string): string {
    return `image ${ref}: the Docker host no longer has the image this stack built and recorded (${imageId}), and building today's source again would run other bytes under the same version. `
        + `Fix: retire that version (deploy a new one, so it leaves the retained versions), or accept a build of today's source: npm run pulumi -- up --replace <its image's urn> (npm run pulumi -- stack --show-urns lists them). Nothing was changed.`;
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        // The build context and the wording of `purpose` are not the image: a pinned image is never rebuilt for them.
        // A new tag or engine connection for the same image keeps its bytes (in place); another image is a new one.
        const d = diffInputs(olds as never, news as never, { outputs: ["imageId", "repoDigest"], inPlace: ["build", "removeOnDelete", "purpose", "name", "docker", "source", "identity", "auth"] });
        const other = otherImage(olds, news);
        if (other) return { changes: true, replaces: [other], deleteBeforeReplace: false };
        const renamed = olds.name !== news.name || stableJson(olds.docker) !== stableJson(news.docker);
        const now = await idOf(news.docker, news.name);
        if (now !== undefined && now !== olds.imageId) throw new Error(`docker: ${movedTagError({ ...olds, name: news.name }, now)}`);
        if (now === olds.imageId && !renamed) return { ...d, changes: false };
        // The tag is gone (or new): put it on the pinned image, or pull the pinned digest (update). A local build the
        // host lost can't be had again; nothing blocks here, and the container that needs it says so.
        const restorable = olds.repoDigest !== undefined || (await idOf(news.docker, olds.imageId)) !== undefined;
        return { changes: renamed || restorable, replaces: [] };
    },
    async create(inputs: Inputs) {
        return { id: inputs.name, outs: { ...inputs, ...(await produce(inputs)) } };
    },
    async update(_id: string, olds: Outputs, news: Inputs) {
        // What was first built or pulled stays the record; the stack's tag is put (back) on it.
        const outs: Outputs = { ...olds, docker: news.docker, name: news.name, source: news.source, removeOnDelete: news.removeOnDelete, purpose: news.purpose, auth: news.auth };
        const [repo, tag] = splitRef(news.name);
        const present = await idOf(news.docker, olds.imageId);
        if (present) {
            const docker = connect(news.docker);
            await docker.getImage(olds.imageId).tag({ repo, tag });
            if (!olds.repoDigest && (news.source ?? olds.source)) {
                // Recorded before digests were: its digest is the registry's name for these bytes, for a later re-pull.
                const from = splitRef(news.source ?? olds.source!)[0];
                const digests = (await docker.getImage(olds.imageId).inspect()).RepoDigests ?? [];
                outs.repoDigest = digests.find((d) => d.startsWith(`${from}@`)) ?? digests[0];
            }
            return { outs };
        }
        if (!olds.repoDigest) return { outs }; // a lost local build: the container that needs it says so
        // Pulled again by its digest, from where the config says it comes now (a moved registry keeps the digest).
        const again = await produce(news, `${splitRef(news.source ?? olds.source ?? news.name)[0]}@${olds.repoDigest.split("@")[1]}`);
        if (again.imageId !== olds.imageId) throw new Error(`docker: pull image ${olds.repoDigest}: got ${again.imageId}, recorded ${olds.imageId}`);
        return { outs };
    },
    async delete(_id: string, props: Outputs) {
        // The stack's own tag goes, only while it is still this resource's image (a replacement may have moved it).
        if (!props.removeOnDelete || (await idOf(props.docker, props.name)) !== props.imageId) return;
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
    declare readonly repoDigest: pulumi.Output<string | undefined>;

    constructor(name: string, args: DockerImageArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, imageId: undefined, repoDigest: undefined }, opts, "docker", "Image");
    }
}
