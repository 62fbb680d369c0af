// Whole-input diffs for every dynamic provider (STYLE habit 7): compare the normalized value of every input,
// never a hand-picked list, so a new input can't be silently ignored.
import type * as pulumi from "@pulumi/pulumi";
import { stableJson } from "../../policy/liveSpec";

export { stableJson };

export interface DiffRules {
    /** Output-only properties (not inputs): never compared. */
    readonly outputs: readonly string[];

    /** Inputs whose change the provider can apply in place; every other changed input forces a replacement. */
    readonly inPlace?: readonly string[];
    /** Remove the old resource before creating its replacement (fixed names, e.g. a container's). */
    readonly deleteBeforeReplace?: boolean;
}

/** Names of the inputs that differ between the stored outputs and the new inputs. */
export function changedInputs(olds: Record<string, unknown>, news: Record<string, unknown>, outputs: readonly string[]): string[] {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
    return [...keys]
        .filter((k) => k !== "__provider" && !outputs.includes(k))
        .filter((k) => stableJson(olds[k]) !== stableJson(news[k]))
        .sort();
}

export function diffInputs(olds: Record<string, unknown>, news: Record<string, unknown>, rules: DiffRules): pulumi.dynamic.DiffResult {
    const changed = changedInputs(olds, news, rules.outputs);
    const replaces = changed.filter((k) => !(rules.inPlace ?? []).includes(k));
    return {
        changes: changed.length > 0,
        replaces,
        deleteBeforeReplace: replaces.length > 0 && rules.deleteBeforeReplace === true,
    };
}
