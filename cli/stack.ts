// The stack through the Pulumi Automation API: every command writes stack config and runs `pulumi up`, so
// `pulumi stack history` records it and what is declared is what runs (INVARIANTS 3).
import { readFileSync, writeFileSync } from "node:fs";
import { LocalWorkspace, type ConfigMap, type Stack, type UpdateSummary } from "@pulumi/pulumi/automation";
import { NAMESPACE, parseConfig, stackFacts, type NotesHubConfig } from "../infra/config";
import { projectRoot } from "../infra/paths";
import type { Change, Declared } from "./plan";

export interface OpenStack {
    readonly name: string;
    readonly stack: Stack;
}

export async function openStack(name: string): Promise<OpenStack> {
    const stack = await LocalWorkspace.selectStack({ stackName: name, workDir: projectRoot() });
    return { name, stack };
}

/** The stack's config as the program parses it (secrets decrypted: the passphrase comes from the environment). */
export async function readConfig(s: OpenStack, opts: { releasing?: boolean } = {}): Promise<NotesHubConfig> {
    const all = await s.stack.getAllConfig();
    return parseConfig(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value])), s.name, undefined, { ...stackFacts(s.name), ...opts });
}

export const declaredOf = (cfg: NotesHubConfig): Declared => ({
    activeColor: cfg.activeColor,
    traffic: cfg.traffic,
    blueVersion: cfg.blueVersion,
    greenVersion: cfg.greenVersion,
    retainedVersions: cfg.retainedVersions,
    schema: cfg.schema,
    retired: cfg.retired ?? null,
});

/** Writes a change into Pulumi.<stack>.yaml (nested values by path, so the file keeps its shape). */
export async function writeChange(s: OpenStack, c: Change): Promise<void> {
    const entries: ConfigMap = {};
    const put = (path: string, value: string | number) => (entries[`${NAMESPACE}:${path}`] = { value: String(value) });
    if (c.activeColor !== undefined) put("activeColor", c.activeColor);
    if (c.traffic !== undefined) put("traffic", c.traffic);
    if (c.blueVersion !== undefined) put("blueVersion", c.blueVersion);
    if (c.greenVersion !== undefined) put("greenVersion", c.greenVersion);
    if (c.retired) put("retired", c.retired);
    else if (c.retired === null) await s.stack.removeConfig(`${NAMESPACE}:retired`);
    if (c.retainedVersions) for (const [k, v] of Object.entries(c.retainedVersions)) put(`retainedVersions.${k}`, v);
    // The schema map is replaced whole: versions that left the retained list leave it too.
    if (c.schema) await s.stack.removeConfig(`${NAMESPACE}:schema`);
    for (const [v, n] of Object.entries(c.schema ?? {})) put(`schema["${v}"]`, n);
    await s.stack.setAllConfig(entries, true);
}

/** The stack's config file as text (Pulumi.<stack>.yaml), to put back exactly when a command must change nothing. */
export function readConfigFile(s: OpenStack): string {
    return readFileSync(`${projectRoot()}/Pulumi.${s.name}.yaml`, "utf8");
}

export function writeConfigFile(s: OpenStack, text: string): void {
    writeFileSync(`${projectRoot()}/Pulumi.${s.name}.yaml`, text);
}

export interface UpRun {
    readonly seconds: number;
    readonly summary: string;
}

/** `pulumi up` with the policy pack; `onLine` gets pulumi's output as it comes. */
export async function up(s: OpenStack, message: string, onLine: (line: string) => void): Promise<UpRun> {
    const start = Date.now();
    let buffer = "";
    const r = await s.stack.up({
        message,
        color: "never",
        policyPacks: [`${projectRoot()}/policy`],
        onOutput: (out) => {
            buffer += out;
            const lines = buffer.split("\n");
            buffer = lines.pop() ?? "";
            for (const l of lines) onLine(l);
        },
    });
    const changes = Object.entries(r.summary.resourceChanges ?? {}).filter(([op]) => op !== "same").map(([op, n]) => `${n} ${op}`).join(", ");
    return { seconds: (Date.now() - start) / 1000, summary: changes || "no changes" };
}

export async function outputs(s: OpenStack): Promise<Record<string, unknown>> {
    const o = await s.stack.outputs();
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));
}

export async function history(s: OpenStack): Promise<UpdateSummary[]> {
    return s.stack.history();
}

/** Clears the lock a killed `pulumi up` left on the stack (Pulumi's own, separate from ours). */
export async function cancel(s: OpenStack): Promise<void> {
    await s.stack.cancel().catch(() => undefined);
}

export type HistoricValue = { value?: string; secret?: boolean; objectValue?: unknown };

/** A config path for one leaf: identifiers as `.name`, anything else as `["name"]`, array items as `[i]`. */
export function leaves(path: string, v: unknown): [string, string][] {
    if (Array.isArray(v)) return v.flatMap((x, i) => leaves(`${path}[${i}]`, x));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => leaves(/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}["${k}"]`, x));
    return [[path, String(v)]];
}

/**
 * Re-applies an update's noteshub:* config (from `pulumi stack history`): keys it had are set as they were, keys it
 * lacked are removed (so their defaults apply again). Values holding a secret are left as they are now (history
 * does not keep secrets). Returns the keys left alone.
 */
export async function writeHistoric(s: OpenStack, config: Record<string, HistoricValue>): Promise<string[]> {
    const now = await s.stack.getAllConfig();
    const kept: string[] = [];
    const ours = (k: string) => k.startsWith(`${NAMESPACE}:`);
    // History redacts secrets ("[secret]"), also inside objects: such a key is never written back.
    const isSecret = (k: string) => now[k]?.secret === true || config[k]?.secret === true || JSON.stringify(config[k] ?? "").includes("[secret]");
    // Maintenance mode is the operator's call of the moment (noteshub maintenance), not part of what a revert restores.
    const keep = (k: string) => k === `${NAMESPACE}:maintenance`;
    const remove = Object.keys(now).filter((k) => ours(k) && !isSecret(k) && !keep(k) && !(k in config));
    const set: ConfigMap = {};
    for (const [k, v] of Object.entries(config)) {
        if (!ours(k) || keep(k)) continue;
        if (isSecret(k)) {
            kept.push(k);
            continue;
        }
        if (k in now) remove.push(k);
        const value = v.objectValue !== undefined ? v.objectValue : v.value;
        for (const [path, leaf] of leaves(k, value)) set[path] = { value: leaf };
    }
    if (remove.length) await s.stack.removeAllConfig(remove, false);
    if (Object.keys(set).length) await s.stack.setAllConfig(set, true);
    return kept;
}
