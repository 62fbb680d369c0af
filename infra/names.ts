// Names on the Docker host carry the project and the stack (and the colour), so two stacks share one engine
// without collisions (STYLE habit 2). Labels let a provider recognise what this stack owns.
import { parseRef } from "./docker/ref";
import type { NotesHubConfig } from "./config";

export interface Names {
    /** `<project>-<stack>`: the prefix of every container, network and volume name. */
    readonly prefix: string;
    /** Label value a container of this stack carries (io.noteshub.owner). */
    readonly owner: string;
    readonly labels: Record<string, string>;
    /** Docker name of a part, e.g. of("blue") -> noteshub-staging-blue. */
    of(part: string): string;
    /**
     * A repository this stack builds into, e.g. image("noteshub-api") -> noteshub-staging/noteshub-api: a build by
     * one stack (the tests' included) never moves another stack's tag (issue #12).
     */
    image(repository: string): string;
    /**
     * The stack's own tag for an image reference: a build of `noteshub-api` at v1.2.3, or a pull of
     * `registry/noteshub/noteshub-api:v1.2.3` or `mongo:7.0`, becomes noteshub-<stack>/<last path part>:<tag>.
     */
    localRef(ref: string): string;
}

export function namesFor(cfg: Pick<NotesHubConfig, "project" | "stack">): Names {
    const prefix = `${cfg.project}-${cfg.stack}`.replace(/[^A-Za-z0-9_.-]/g, "-");
    return {
        prefix,
        owner: prefix,
        labels: { "io.noteshub.project": cfg.project, "io.noteshub.stack": cfg.stack },
        of: (part: string) => `${prefix}-${part}`,
        // Lower case, and no "." in the first path component (Docker would read it as a registry host).
        image: (repository: string) => `${prefix.toLowerCase().replace(/[^a-z0-9_-]/g, "-")}/${repository}`,
        localRef(ref: string) {
            // A digest-pinned reference keeps its tag (mongo:7.0@sha256:...), or is tagged by its digest's start.
            const { repo, tag, digest } = parseRef(ref);
            return `${this.image(repo.split("/").pop()!)}:${tag ?? (digest ? digest.slice(7, 19) : "latest")}`;
        },
    };
}

/** A colour's name on the stack network: its address holder's (components/appColor.ts). */
export const colorAddress = (names: Names, color: string): string => names.of(`${color}-addr`);

/** Hardening every app and balancer container gets (no new privileges, no Linux capabilities). */
export const HARDENED = { securityOpt: ["no-new-privileges:true"], capDrop: ["ALL"], capAdd: [] as string[] };

/** What an address holder may use: it sleeps, and the balancer's runs the gate's curl probes and the state swap. */
export const HOLDER_LIMITS = { memoryMb: 64, cpus: 0.5, pids: 64 };
/** A read-only root filesystem with a scratch /tmp: for images that write only to their volumes (app, holders). */
export const READ_ONLY_ROOT = { tmpfs: ["/tmp"] };
