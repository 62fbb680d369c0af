// What serves users is never touched (issue #12, INVARIANTS 4): an update that would replace a container while its
// colour has a traffic share (or, for the balancer's port holder and the database, while any colour has one) is
// blocked at preview. The program reads from the engine what runs now and gives each such container a `guard`:
// the live share and the running container's fingerprint. This policy compares that fingerprint with the one the
// update declares (policy/liveSpec.ts); the container provider enforces the same rule on its own at diff time.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { changedFields, fingerprint, liveChangeRefusal, loadOf, type Guard } from "./liveSpec";

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
