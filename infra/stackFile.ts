// How a value is stored in the stack's config file, Pulumi.<stack>.yaml: as a Pulumi secret (`secure:`) or as
// plaintext. The engine tells a program only which top-level keys are secret, never a value nested in an object
// such as database.password, so the policy pack's "password is a secret" check reads the file itself.
import { readFileSync } from "node:fs";
import { fromRoot } from "./paths";

export type Storage = "secret" | "plaintext" | "absent" | "unknown";

export function storageOf(stack: string, key: string, path: string[], file = fromRoot(`Pulumi.${stack}.yaml`)): Storage {
    let doc: unknown;
    try {
        const yaml = require("js-yaml") as typeof import("js-yaml");
        doc = yaml.load(readFileSync(file, "utf8"));
    } catch {
        return "unknown"; // no file (config from elsewhere) or unreadable: say so rather than guess
    }
    let v: unknown = (doc as { config?: Record<string, unknown> } | undefined)?.config?.[key];
    for (const p of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
    if (v === undefined || v === null) return "absent";
    return v && typeof v === "object" && "secure" in v ? "secret" : "plaintext";
}
