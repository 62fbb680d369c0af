// noteshub release <version> (issue #14): builds the app at that version on this machine's Docker engine, pushes it
// to app.repository's registry, and records the digest it was pushed as in stack config (app.digests), so every host
// pulls exactly those bytes (production refuses a retained version without one). A version is immutable: one the
// stack recorded, or one the registry already has under other bytes, is refused. A run that crashed after its push
// is rerun safely: the registry's digest is adopted when it is this build's.
import type Dockerode from "dockerode";
import { NAMESPACE, VERSION_RE } from "../infra/config";
import { buildFrom } from "../infra/docker/context";
import { connect, engineError, engineMessage, type DockerConnection } from "../infra/docker/engine";
import { registryOf } from "../infra/docker/ref";
import type { NotesHubConfig } from "../infra/config";
import { namesFor } from "../infra/names";
import type { Command, Context, Result } from "./context";
import { readConfig } from "./stack";
import { PlanError } from "./plan";

type Event = { error?: string; errorDetail?: { message?: string }; stream?: string; aux?: { Digest?: string } };

/** Runs a build or push stream to its end; the engine reports failures inside it. */
async function follow(docker: Dockerode, stream: NodeJS.ReadableStream, onLine: (l: string) => void): Promise<Event[]> {
    return new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, events: Event[]) => {
        const failed = events?.find((e) => e.error || e.errorDetail);
        if (err) reject(err);
        else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
        else resolve(events);
    }, (e: Event) => e.stream?.trim() && onLine(e.stream.trim())));
}

/** The engine that builds: this machine's, as the docker CLI would pick it (DOCKER_HOST, DOCKER_CERT_PATH). */
function localEngine(): DockerConnection {
    const host = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
    return { host, ...(process.env.DOCKER_CERT_PATH && host.startsWith("tcp://") ? { tlsCertDir: process.env.DOCKER_CERT_PATH } : {}) };
}

/** The digest the registry holds for a tag, or undefined when it has none. */
async function registryDigest(docker: Dockerode, ref: string, authconfig: object | undefined, conn: DockerConnection): Promise<string | undefined> {
    try {
        const d = (await docker.getImage(ref).distribution(authconfig ? { authconfig } : {})) as { Descriptor?: { digest?: string } };
        return d.Descriptor?.digest;
    } catch (err) {
        if (/manifest unknown|not found|no such/i.test(engineMessage(err))) return undefined;
        throw engineError("look up", `${ref} in its registry`, conn, err);
    }
}

/**
 * `release <version> --adopt`: a version this stack already runs from the registry (pulled before digests were
 * recorded) keeps the bytes the Docker host has: their digest is recorded, nothing is built or pushed.
 */
async function adopt(ctx: Context, cfg: NotesHubConfig, version: string, repo: string): Promise<Result> {
    const local = namesFor(cfg).localRef(`${repo}:${version}`);
    const image = await connect(cfg.docker).getImage(local).inspect().catch(() => undefined);
    const digest = image?.RepoDigests?.find((d) => d.startsWith(`${repo}@`))?.split("@")[1];
    if (!image || !digest) {
        throw new PlanError(`--adopt: the Docker host (${cfg.docker.host}) has no ${local} pulled from ${repo}, so there is no digest to adopt; release ${version} without --adopt to build and push it`);
    }
    await ctx.stack.stack.setAllConfig({ [`${NAMESPACE}:app.digests["${version}"]`]: { value: digest } }, true);
    ctx.log("command-finished", `release ${version} --adopt: ${repo}@${digest} (what the host runs)`, true, { figures: { version, digest, imageId: image.Id } });
    ctx.say(`recorded ${version} as ${repo}@${digest}, the bytes the Docker host has (${image.Id})`);
    return { ok: true, json: { command: `release ${version} --adopt`, stack: ctx.stack.name, version, image: `${repo}@${digest}`, digest, imageId: image.Id, adopted: true } };
}

export const release: Command = {
    changes: true,
    async run(ctx) {
        const version = ctx.args[0];
        if (!version || !VERSION_RE.test(version)) throw new PlanError(`release needs a version like v1.2.3, got ${JSON.stringify(version ?? "")}`);
        const cfg = await readConfig(ctx.stack, { releasing: true });
        const repo = cfg.app.repository;
        const server = registryOf(repo);
        if (!server) throw new PlanError(`${NAMESPACE}:app.repository ${repo} names no registry (its first part must be a host, e.g. registry.acme.internal:5000/noteshub/noteshub-api); fix: pulumi config set --path app.repository <registry>/<path>`);
        const recorded = cfg.app.digests[version];
        if (recorded) throw new PlanError(`${version} is released already as ${repo}@${recorded} (${NAMESPACE}:app.digests); a version is immutable: release the new build as a new version`);
        if (ctx.options.adopt) return adopt(ctx, cfg, version, repo);
        const context = (ctx.options.context as string | undefined) ?? cfg.release.context ?? cfg.app.build;
        if (!context) throw new PlanError(`nothing to build: give --context <dir> or set ${NAMESPACE}:release.context to the app's build context (a Dockerfile taking APP_VERSION)`);
        const conn = localEngine();
        const docker = connect(conn);
        const authconfig = cfg.registry ? { serveraddress: server, username: cfg.registry.username, password: cfg.registry.password } : undefined;
        const ref = `${repo}:${version}`;
        const started = Date.now();
        ctx.log("command-started", `release ${version}: build ${context}, push ${ref}`, true);

        const build = buildFrom(context, { APP_VERSION: version });
        ctx.say(`building ${ref} from ${context} on ${conn.host}`);
        try {
            const tar = require("tar-fs") as typeof import("tar-fs");
            await follow(docker, await docker.buildImage(tar.pack(build.contextDir) as never, { t: ref, buildargs: build.args, forcerm: true }), (l) => /^Step \d+\/\d+/.test(l) && ctx.say(`    ${l}`));
        } catch (err) {
            throw engineError("build", ref, conn, err);
        }
        const image = await docker.getImage(ref).inspect();
        let digest = await registryDigest(docker, ref, authconfig, conn);
        if (digest) {
            // Already there: this build's bytes (a rerun after a crash) are adopted; anyone else's are refused.
            if (!(image.RepoDigests ?? []).includes(`${repo}@${digest}`)) {
                throw new PlanError(`${ref} is in the registry already as ${digest}, and it is not this build (${image.Id}); a version is immutable: release the new build as a new version`);
            }
            ctx.say(`${ref} was pushed already as ${digest} (an earlier run): recording it`);
        } else {
            ctx.say(`pushing ${ref} to ${server}`);
            try {
                const events = await follow(docker, await docker.getImage(ref).push(authconfig ? { authconfig } : {}), () => undefined);
                digest = events.map((e) => e.aux?.Digest).find((d) => d) ?? undefined;
            } catch (err) {
                throw engineError("push", ref, conn, err);
            }
            if (!digest) throw new Error(`push ${ref}: the registry gave no digest; nothing was recorded`);
            // What was pushed is what was built: a tag moved meanwhile (another build of the same name) pushed other
            // bytes, and their digest is not recorded.
            if (!((await docker.getImage(image.Id).inspect()).RepoDigests ?? []).includes(`${repo}@${digest}`)) {
                throw new Error(`push ${ref}: the registry's ${digest} is not this build (${image.Id}): the tag moved during the push; nothing was recorded, run the release again`);
            }
        }
        await ctx.stack.stack.setAllConfig({ [`${NAMESPACE}:app.digests["${version}"]`]: { value: digest } }, true);
        const seconds = (Date.now() - started) / 1000;
        ctx.log("command-finished", `release ${version}: ${repo}@${digest}`, true, { seconds, figures: { version, digest, imageId: image.Id } });
        ctx.say(`released ${version} as ${repo}@${digest} in ${seconds.toFixed(1)} s; deploy it with: npm run noteshub -- deploy ${version} --stack ${ctx.stack.name}`);
        return { ok: true, json: { command: `release ${version}`, stack: ctx.stack.name, version, image: `${repo}@${digest}`, digest, imageId: image.Id, seconds } };
    },
};
