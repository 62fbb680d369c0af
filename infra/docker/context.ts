// Content hash of a Docker build context, computed by the program (not the provider) so that `pulumi preview`
// shows a rebuild exactly when a file in the directory changed.
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
    const contextDir = fromRoot(context);
    return { context, contextDir, contextHash: hashContext(contextDir), ...(args ? { args } : {}) };
}
