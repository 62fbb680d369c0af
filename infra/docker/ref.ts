// Image references as the engine reads them: [registry/]path[:tag][@sha256:digest]. A registry host's port is not a
// tag, and a digest's colon is not one either. Pure, and captured by the dynamic providers.

export interface ImageRef {
    /** Everything before the tag and digest: registry.test:5443/noteshub/noteshub-api, mongo. */
    readonly repo: string;
    readonly tag?: string;
    /** sha256:<64 hex>. */
    readonly digest?: string;
}

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function parseRef(ref: string): ImageRef {
    const at = ref.indexOf("@");
    const digest = at >= 0 ? ref.slice(at + 1) : undefined;
    const name = at >= 0 ? ref.slice(0, at) : ref;
    const colon = name.lastIndexOf(":");
    if (colon > name.lastIndexOf("/")) return { repo: name.slice(0, colon), tag: name.slice(colon + 1), ...(digest ? { digest } : {}) };
    return { repo: name, ...(digest ? { digest } : {}) };
}

/** What the engine pulls: by digest when there is one (the bytes), else by tag (latest when none). */
export function pullRef(r: ImageRef): string {
    return r.digest ? `${r.repo}@${r.digest}` : `${r.repo}:${r.tag ?? "latest"}`;
}

/**
 * The registry a repository lives in, as Docker decides it: the first path component when it looks like a host
 * (has a dot or a port, or is localhost); otherwise Docker Hub (undefined).
 */
export function registryOf(repo: string): string | undefined {
    const first = repo.split("/")[0];
    return repo.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : undefined;
}
