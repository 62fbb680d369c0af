// Release policies (runbook "Version Management", "Deployment Flow"): three retained versions to roll back to,
// and traffic moved in the runbook's steps.
import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import type { ReleaseProps } from "./resources";

// Semantic version with our optional leading "v" (v1.2.3, v1.2.3-rc.1).
const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const SLOTS = ["current", "previous", "archived"];

export function retainedProblems(r: ReleaseProps): string[] {
    const fix = "pulumi config set --path retainedVersions.<current|previous|archived> vX.Y.Z";
    const given = r.retainedVersions ?? {};
    const problems: string[] = [];
    const keys = Object.keys(given);
    const extra = keys.filter((k) => !SLOTS.includes(k));
    const absent = SLOTS.filter((k) => !keys.includes(k));
    if (absent.length || extra.length) {
        problems.push(`noteshub:retainedVersions must hold exactly three versions (current, previous, archived)${absent.length ? `; missing ${absent.join(", ")}` : ""}${extra.length ? `; unexpected ${extra.join(", ")}` : ""}. Fix: ${fix}.`);
    }
    const values = SLOTS.map((k) => given[k]).filter((v): v is string => typeof v === "string");
    for (const [slot, v] of Object.entries(given)) {
        if (typeof v !== "string" || !SEMVER.test(v)) problems.push(`noteshub:retainedVersions.${slot} is ${JSON.stringify(v)}, not a semantic version like v1.2.3. Fix: ${fix}.`);
    }
    const dupes = [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
    if (dupes.length) problems.push(`noteshub:retainedVersions lists ${dupes.join(", ")} more than once; the three must differ so two rollbacks stay possible. Fix: ${fix}.`);
    for (const [color, v] of Object.entries(r.versions ?? {})) {
        if (!values.includes(v)) problems.push(`the ${color} colour runs ${v}, which is not one of the retained versions (${values.join(", ")}); it could not be rolled back to later. Fix: pulumi config set ${color}Version <one of them>, or retain ${v}.`);
    }
    return problems;
}

export const threeRetainedVersions: ResourceValidationPolicy = {
    name: "three-retained-versions",
    description: "Exactly three retained versions (current, previous, archived), unique semver, both colours among them.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.props?.kind !== "Release") return;
        for (const p of retainedProblems(args.props as ReleaseProps)) report(p);
    },
};

export interface TrafficStepsConfig {
    /** The shares (percent) the promoted colour may get. */
    steps: number[];
}
export const TRAFFIC_STEPS_DEFAULTS: TrafficStepsConfig = { steps: [0, 10, 25, 50, 100] };
const trafficStepsSchema: PolicyConfigSchema = {
    properties: { steps: { type: "array", items: { type: "integer", minimum: 0, maximum: 100 }, default: TRAFFIC_STEPS_DEFAULTS.steps } },
};

export function trafficStepProblems(r: ReleaseProps, cfg: TrafficStepsConfig): string[] {
    if (cfg.steps.includes(r.traffic)) return [];
    return [`noteshub:traffic is ${r.traffic} %: the ${r.activeColor} colour being promoted should get one of the steps ${cfg.steps.join("/")} % (runbook "Gradual Traffic Shift"). Fix: pulumi config set traffic <step>.`];
}

export const trafficSteps: ResourceValidationPolicy = {
    name: "traffic-steps",
    description: "The share sent to the colour being promoted is one of the runbook's steps (advisory).",
    enforcementLevel: "advisory",
    configSchema: trafficStepsSchema,
    validateResource: (args, report) => {
        if (args.props?.kind !== "Release") return;
        const cfg = { ...TRAFFIC_STEPS_DEFAULTS, ...args.getConfig<Partial<TrafficStepsConfig>>() };
        for (const p of trafficStepProblems(args.props as ReleaseProps, cfg)) report(p);
    },
};
