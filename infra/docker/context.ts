// Build contexts. Images are pinned once built (providers/dockerImage.ts), so a context's content hash is needed
// only where it names an image: the balancer's, whose tag is its context hash, so a changed images/nginx is a new
// image and a zero-drop handover to it (components/loadBalancer.ts).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

function walk(dir: string, root: string, out: string[]): void {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full, root, out);
        else if (entry.isFile()) out.push(relative(root, full));
    }
}

/** sha256 over every file's path, mode and content, in sorted order. */
export function hashContext(dir: string): string {
    const files: string[] = [];
    try {
        walk(dir, dir, files);
    } catch (err) {
        throw new Error(`image build context ${dir}: ${(err as Error).message}`);
    }
    const h = createHash("sha256");
    for (const f of files.sort()) {
        const full = join(dir, f);
        h.update(`${f}\0${statSync(full).mode & 0o111 ? "x" : "-"}\0`);
        h.update(readFileSync(full));
        h.update("\0");
    }
    return h.digest("hex");
}

/** What an image resource needs to build from a directory given relative to the project root. */
export function buildFrom(context: string, args?: Record<string, string>) {
    const { fromRoot } = require("../paths") as typeof import("../paths");
    return { context, contextDir: fromRoot(context), ...(args ? { args } : {}) };
}
