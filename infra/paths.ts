// Paths in stack config (build contexts) are relative to the project root, wherever Pulumi runs the program from.
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";

/** The directory holding Pulumi.yaml, found upward from this file. */
export function projectRoot(from = __dirname): string {
    for (let dir = from; ; dir = dirname(dir)) {
        if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
        if (dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${from}`);
    }
}

export const fromRoot = (p: string): string => (isAbsolute(p) ? p : resolve(projectRoot(), p));
