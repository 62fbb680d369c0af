// What serves users is never touched (issue #12, INVARIANTS 4): an update that would replace a container while its
// colour has a traffic share (or, for the balancer's port holder and the database, while any colour has one) is
// blocked at preview. The program reads from the engine what runs now and gives each such container a `guard`:
// the live share and the running container's fingerprint. This policy compares that fingerprint with the one the
// update declares (policy/liveSpec.ts); the container provider enforces the same rule on its own at diff time.
// A delete is not an update the resource policy sees: the program read also lists what serves (the destroy guard's
// `serving`), and the stack policy checks that the update still declares the resource that made each of them.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { changedFields, fingerprint, liveChangeRefusal, loadOf, type Guard, type Serving } from "./liveSpec";
import type { ResourceLike } from "./resources";

/** The problem with one container's declared props, if any. */
export function liveProblem(props: Record<string, unknown>): string | undefined {
    const g = props.guard as Guard | undefined;
    // One that hands over (a balancer instance) is replaced new-first: nothing that serves stops.
    if (!g || props.handover || g.allowOutage || g.share === 0 || !g.running) return undefined;
    // Retiring it (stopped) while it runs with a share drops its requests as surely as replacing it.
    if (props.stopped === true) {
        return `container ${String(props.name)}: ${g.what} ${loadOf(g, g.share)}, so stopping it (retired) would drop requests. Fix: move its traffic first (noteshub rollback, or activeColor/traffic and pulumi up), then retire it (noteshub retire).`;
    }
    const fields = changedFields(g.running, fingerprint(props));
    return fields.length ? `container ${String(props.name)}: ${liveChangeRefusal(g, g.share, fields)}` : undefined;
}

export const liveColourUntouched: ResourceValidationPolicy = {
    name: "live-colour-untouched",
    description: "A container that serves users (a colour with a traffic share, the balancer's port holder, the database) is never replaced; changes go through the idle colour.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = liveProblem(args.props as Record<string, unknown>);
        if (p) report(p);
    },
};

/**
 * A container that serves whose resource this update no longer declares (it would be deleted at the end of `up`), or
 * declares under another Docker name (replaced by a new container): one problem each.
 */
export function deletedServingProblems(resources: ResourceLike[]): string[] {
    const serving = resources.find((r) => r.props?.kind === "DestroyGuard")?.props.serving as Serving[] | undefined;
    if (!Array.isArray(serving)) return [];
    // The shares this update declares: deletes run last, after the traffic moved (a colour that loses its share in
    // this update may go in it). No traffic state declared: anything may serve.
    const weights = resources.find((r) => r.props?.kind === "TrafficState")?.props.weights as Record<string, number> | undefined;
    const shareOf = (color: string): number | null => !weights || typeof weights !== "object" ? null
        : color === "*" ? Math.max(0, ...Object.values(weights).map(Number)) : Number(weights[color] ?? 0);
    const problems: string[] = [];
    for (const s of serving) {
        const share = shareOf(s.color);
        if (share === 0) continue;
        // URNs and resource names only, until one is found: reading a value not known at preview (a new balancer
        // instance's name) would make the whole policy advisory.
        const declared = s.urn ? resources.find((r) => r.urn === s.urn) : resources.find((r) => r.props?.resourceName === s.resource);
        const fix = `Fix: move its traffic first (noteshub rollback, or activeColor/traffic and pulumi up), then make this change; `
            + `or keep it: give the resource that now declares it the alias ${s.urn || s.resource} (opts.aliases) so Pulumi moves it instead of deleting it; `
            + `to accept dropped requests instead, run that one command with NOTESHUB_ALLOW_OUTAGE=1. Nothing was changed.`;
        if (!declared) {
            problems.push(`container ${s.container}: ${s.what} ${loadOf(s, share)}, and this update would delete it (no resource declares ${s.urn || s.resource} any more). ${fix}`);
        } else if (declared.props.name !== s.container) {
            problems.push(`container ${s.container}: ${s.what} ${loadOf(s, share)}, and this update would replace it with ${String(declared.props.name)} (${s.urn || s.resource} now declares that name). ${fix}`);
        }
    }
    return problems;
}

export const servingContainersKept: StackValidationPolicy = {
    name: "serving-containers-kept",
    description: "An update never deletes a container that serves users (a colour with a traffic share, the balancer's port holder, the database), e.g. by renaming or dropping its resource.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const p of deletedServingProblems(args.resources as ResourceLike[])) report(p);
    },
};
