// What a container was created with, as one short hash per field (env and labels per key), so that "would this
// update replace the container that serves users?" can be answered from plain values (issue #12, INVARIANTS 4).
// The container provider writes it as a label when it creates a container (infra/providers/dockerContainer.ts);
// the program reads it back from the running container; this pack compares it with what the update declares.
// It lives here because the pack must stay self-contained; infra imports it, never the other way round.
import { createHash } from "crypto";

/** JSON with sorted keys, so key order never reads as a change. */
export function stableJson(value: unknown): string {
    return JSON.stringify(value, (_k, v) =>
        v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
    ) ?? "undefined";
}

/** The label a container's fingerprint is kept in. */
export const SPEC_LABEL = "io.noteshub.spec";
/** The label that names the Pulumi resource (its URN) that made a container. */
export const URN_LABEL = "io.noteshub.urn";

/**
 * Inputs that are not part of what runs: where the engine is, how create waits, the guard itself, environment fixed
 * at start (PREVIOUS_VERSION), the stop timeout (only our delete uses it), whether it is stopped (retired: policy/live.ts
 * judges that on its own), the Pulumi resource's name and outputs; and what never replaces a container: its limits
 * (changed in place, or set when one is created) and its read-only root (set when one is created).
 */
const NOT_SPEC = ["docker", "readyTimeoutSec", "waitFor", "readyExec", "handover", "guard", "startEnv", "stopTimeoutSec", "stopped", "resourceName", "resourceUrn", "containerId", "limits", "startLimits", "readOnlyRoot", "__provider"];
const PER_KEY = ["env", "labels"];

/** The short hash a fingerprint keeps of one field's value. */
export const hashOf = (v: unknown) => createHash("sha256").update(stableJson(v)).digest("hex").slice(0, 12);

/** Field -> hash of its value, for every field that defines the container (env.X and labels.X one by one). */
export function fingerprint(props: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(props)) {
        if (NOT_SPEC.includes(k) || v === undefined) continue;
        if (PER_KEY.includes(k) && v && typeof v === "object" && !Array.isArray(v)) {
            for (const [sub, sv] of Object.entries(v as Record<string, unknown>)) if (!(k === "labels" && sub === SPEC_LABEL)) out[`${k}.${sub}`] = hashOf(sv);
        } else {
            out[k] = hashOf(v);
        }
    }
    return out;
}

/** Fields whose hashes differ (or that exist on one side only), sorted. */
export function changedFields(running: Record<string, string>, declared: Record<string, string>): string[] {
    return [...new Set([...Object.keys(running), ...Object.keys(declared)])].filter((k) => running[k] !== declared[k]).sort();
}

/** What a guarded container is to the users (components pass it; the pack and the provider read it). */
export interface Guard {
    /** "blue"/"green": that colour's share counts; "*": any colour's share (the balancer's holder, the database). */
    readonly color: string;
    /** What it is, for messages: "colour blue", "the balancer's port holder", "the database". */
    readonly what: string;
    /** The container holding the traffic state (the balancer's holder), read for the live share. */
    readonly balancer: string;
    /** The live share the program read before this update (percent); null when it could not be read. */
    readonly share: number | null;
    /** The running container's fingerprint (its SPEC_LABEL), or null when none runs or it has none. */
    readonly running: Record<string, string> | null;
    /** NOTESHUB_ALLOW_OUTAGE=1 for this command: the operator accepts dropped requests. */
    readonly allowOutage: boolean;
}

/**
 * A running container that serves users whenever its colour has a share (a colour's app and address holder) or any
 * colour has one ("*": the balancer's port holder, the database), as the program read it from the engine
 * (infra/observe.ts). While it serves, the update must keep declaring the resource that made it, or the delete at the
 * end of `up` would stop it (policy/live.ts). No shares in it: the list changes only when containers do.
 */
export interface Serving {
    /** Its Docker name. */
    readonly container: string;
    /** "blue"/"green", or "*" (see Guard.color). */
    readonly color: string;
    /** What it is, for messages: "colour blue (its address holder)", "the database". */
    readonly what: string;
    /** The URN of the resource that made it; "" for a container made before URNs were recorded. */
    readonly urn: string;
    /** That resource's name (the fallback when the URN is not known). */
    readonly resource: string;
}

/** How much a guarded container serves, in words: its colour's share, or that it serves whichever colour is live. */
export function loadOf(g: Pick<Guard, "color">, share: number | null): string {
    return share === null ? "may have traffic (its traffic state could not be read)" : g.color === "*" ? "serves traffic" : `has ${share} % of traffic`;
}

/** The one message for "this would touch what serves users", from the provider and from the pack alike. */
export function liveChangeRefusal(g: Pick<Guard, "what" | "color">, share: number | null, fields: string[]): string {
    const load = loadOf(g, share);
    const outage = "to accept dropped requests instead, run that one command with NOTESHUB_ALLOW_OUTAGE=1";
    let fix: string;
    if (g.color === "*") {
        fix = `it carries every request whichever colour is live, so make this change in a maintenance window and ${outage}`;
    } else {
        const other = g.color === "blue" ? "green" : "blue";
        const release = fields.some((f) => f === "image" || f === "imageId")
            ? "a retained version's image is immutable: release the new build as a new version (npm run noteshub -- deploy <new version>)"
            : fields.some((f) => f.startsWith("env."))
              ? `give the new setting to a new version (pulumi config set --path 'app.envByVersion["<new version>"].NAME' value) and deploy it (npm run noteshub -- deploy <new version>)`
              : "deploy a new version, which starts on the idle colour (npm run noteshub -- deploy <new version>)";
        fix = `${release}; or move the traffic off ${g.color} first (npm run noteshub -- rollback, or pulumi config set activeColor ${other} and pulumi up), then change it; ${outage}`;
    }
    return `${g.what} ${load}, and this update would replace its container (changed: ${fields.join(", ")}). Fix: ${fix}. Nothing was changed.`;
}
