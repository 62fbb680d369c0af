// Calls a policy's validate function directly, as the engine would, and returns the messages it reports.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { ResourceLike } from "../../policy/resources";

export function violationsOf(policy: ResourceValidationPolicy, props: Record<string, unknown>, config: object = {}, name = "r"): string[] {
    const out: string[] = [];
    const args = { type: "pulumi-nodejs:dynamic:Resource", props, urn: `urn:pulumi:t::noteshub::x::${name}`, name, opts: {}, getConfig: () => config, notApplicable: () => undefined };
    (policy.validateResource as Function)(args, (m: string) => out.push(m));
    return out;
}

export function stackViolationsOf(policy: StackValidationPolicy, resources: ResourceLike[], config: object = {}): string[] {
    const out: string[] = [];
    const args = { resources, getConfig: () => config, stackTags: new Map(), notApplicable: () => undefined };
    policy.validateStack(args as never, (m: string) => out.push(m));
    return out;
}

let n = 0;
export function resource(props: Record<string, unknown>, extra: Partial<ResourceLike> = {}): ResourceLike {
    const name = extra.name ?? `r${n++}`;
    return { urn: `urn:pulumi:t::noteshub::x::${name}`, name, props, dependencies: [], propertyDependencies: {}, ...extra };
}
