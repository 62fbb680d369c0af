// One stack, many clones (issue #14): every operator has their own Pulumi.<stack>.yaml, and the commands of the rest
// of the rota change the stack's declared state (colour, traffic, versions, schema, maintenance) and its released digests
// without touching this clone's file. With shared state, a command first takes those keys from the stack's last
// update (`pulumi stack history` keeps each update's config), so it plans from what runs, never from a file that
// is hours behind; a released version whose digest differs here and there is refused.
import { NAMESPACE } from "../infra/config";
import { PlanError } from "./plan";
import type { LogEntry } from "./log";
import { leaves, type HistoricValue, type OpenStack } from "./stack";

/** The keys noteshub's commands write: the declared state (and maintenance mode, which the balancer serves too). */
export const DECLARED_KEYS = ["activeColor", "traffic", "blueVersion", "greenVersion", "retainedVersions", "schema", "maintenance", "retired"] as const;

export interface Difference {
    readonly key: string;
    /** This clone's value (undefined: not set, the default applies). */
    readonly here: unknown;
    /** The last update's. */
    readonly deployed: unknown;
}

const valueOf = (v: HistoricValue | undefined): unknown => {
    if (!v) return undefined;
    if (v.objectValue !== undefined) return v.objectValue;
    if (v.value === undefined) return undefined;
    try {
        return JSON.parse(v.value);
    } catch {
        return v.value;
    }
};

/** JSON with object keys sorted: two values are the same when this is. */
const canonical = (v: unknown): string =>
    JSON.stringify(v, (_k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x)) ?? "undefined";

const digestsOf = (app: unknown): Record<string, string> => ((app as { digests?: Record<string, string> } | undefined)?.digests ?? {});

/**
 * The digests `noteshub release` recorded in the stack's shared log, by version: a version released from another
 * clone is known here before anyone deploys it (its digest reaches the stack's history only with an update).
 */
export function releasedDigests(log: readonly LogEntry[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of log) {
        const f = e.figures as { version?: unknown; digest?: unknown } | undefined;
        if (e.event === "command-finished" && e.ok && /^release /.test(e.command) && typeof f?.version === "string" && typeof f.digest === "string") out[f.version] = f.digest;
    }
    return out;
}

/**
 * What this clone's config lacks of the last update's: the declared keys that differ, and released digests it does
 * not have (the last update's, and those the shared log says were released). Throws when one version has two
 * digests (two builds released under one version).
 */
export function behind(here: Record<string, HistoricValue>, deployed: Record<string, HistoricValue>, released: Record<string, string> = {}): { keys: Difference[]; digests: Record<string, string> } {
    const keys: Difference[] = [];
    for (const k of DECLARED_KEYS) {
        const key = `${NAMESPACE}:${k}`;
        const h = valueOf(here[key]);
        const d = valueOf(deployed[key]);
        if (canonical(h) !== canonical(d)) keys.push({ key: k, here: h, deployed: d });
    }
    const mine = digestsOf(valueOf(here[`${NAMESPACE}:app`]));
    const ran = digestsOf(valueOf(deployed[`${NAMESPACE}:app`]));
    for (const [v, digest] of Object.entries(released)) {
        if (ran[v] !== undefined && ran[v] !== digest) {
            throw new PlanError(`app.digests["${v}"]: the stack's last update ran ${ran[v]}, but the deployment log says ${v} was released as ${digest}: two builds under one version. Check the registry (the version's tag names one of them) and release the other build as a new version`);
        }
    }
    const theirs = { ...released, ...ran };
    const digests: Record<string, string> = {};
    for (const [v, digest] of Object.entries(theirs)) {
        if (mine[v] === undefined) digests[v] = digest;
        else if (mine[v] !== digest) {
            throw new PlanError(
                `app.digests["${v}"] is ${mine[v]} here, but the stack's last update ran it as ${digest}: two builds were released as ${v}. A version is immutable: put back the deployed digest (pulumi config set --path 'app.digests["${v}"]' ${digest}) and release the other build as a new version`,
            );
        }
    }
    return { keys, digests };
}

/**
 * Brings this clone's declared keys and digests to the last update's, and takes the digests released since (from
 * the shared log); returns what it took, in words.
 */
export async function syncWithLastUpdate(s: OpenStack, log: readonly LogEntry[] = []): Promise<string[]> {
    const last = (await s.stack.history(20)).find((u) => u.kind === "update");
    const released = releasedDigests(log);
    if (!last?.config && !Object.keys(released).length) return [];
    const here = (await s.stack.getAllConfig()) as Record<string, HistoricValue>;
    const deployed = (last?.config ?? here) as Record<string, HistoricValue>;
    const { keys, digests } = behind(here, deployed, released);
    if (!keys.length && !Object.keys(digests).length) return [];
    const remove = keys.filter((d) => `${NAMESPACE}:${d.key}` in here).map((d) => `${NAMESPACE}:${d.key}`);
    if (remove.length) await s.stack.removeAllConfig(remove, false);
    const set: Record<string, { value: string }> = {};
    for (const d of keys) if (d.deployed !== undefined) for (const [path, leaf] of leaves(`${NAMESPACE}:${d.key}`, d.deployed)) set[path] = { value: leaf };
    for (const [v, digest] of Object.entries(digests)) set[`${NAMESPACE}:app.digests["${v}"]`] = { value: digest };
    if (Object.keys(set).length) await s.stack.setAllConfig(set, true);
    const by = last ? `update ${last.version} (${new Date(last.startTime).toISOString()}${last.message ? `, "${last.message}"` : ""}${last.result === "succeeded" ? "" : `, ${last.result}`})` : "";
    return [
        ...keys.map((d) => `${d.key}: ${d.here === undefined ? "(unset)" : JSON.stringify(d.here)} here, ${d.deployed === undefined ? "(unset)" : JSON.stringify(d.deployed)} in ${by}`),
        ...Object.entries(digests).map(([v, digest]) => `app.digests["${v}"] = ${digest}, released from another clone${last && digestsOf(valueOf(deployed[`${NAMESPACE}:app`]))[v] !== undefined ? "" : " (in the deployment log; not deployed yet)"}`),
    ];
}
