// Traffic is gated (INVARIANTS 1): every colour that receives traffic has a health gate the routes wait for.
import type { StackValidationPolicy } from "@pulumi/policy";
import { ofKind, type GateProps, type ResourceLike, type TrafficStateProps } from "./resources";

export function gateProblems(routes: ResourceLike & { props: TrafficStateProps }, gates: (ResourceLike & { props: GateProps })[]): string[] {
    const weights = routes.props.weights;
    if (!weights || typeof weights !== "object") {
        return [`the balancer's traffic state (${routes.name}) declares no per-colour weights, so it can't be shown that traffic only reaches gated colours. Fix: pass weights to TrafficState (infra/components/loadBalancer.ts).`];
    }
    const waitedFor = new Set([...(routes.propertyDependencies?.gates ?? []), ...(routes.dependencies ?? [])].map((d) => d.urn));
    const problems: string[] = [];
    for (const [color, share] of Object.entries(weights)) {
        if (!(share > 0)) continue;
        const gate = gates.find((g) => g.props.color === color);
        if (!gate) {
            problems.push(`colour ${color} receives ${share} % of traffic but has no health gate. Fix: declare a HealthGate for ${color} (infra/components/loadBalancer.ts) and pass its passedAt in the traffic state's gates.`);
        } else if (!waitedFor.has(gate.urn)) {
            problems.push(`colour ${color} receives ${share} % of traffic but the traffic state does not wait for its health gate (${gate.name}), so traffic could move to an unhealthy colour. Fix: pass ${gate.name}'s passedAt in the traffic state's gates input.`);
        } else if (gate.props.live !== true) {
            problems.push(`colour ${color} receives ${share} % of traffic but its health gate (${gate.name}) is marked idle (live: false) and may skip its check. Fix: mark the gate live for every colour with a share.`);
        }
    }
    return problems;
}

export const trafficIsGated: StackValidationPolicy = {
    name: "traffic-is-gated",
    description: "Every colour that receives traffic has a passing health gate between it and the load balancer.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const gates = ofKind<GateProps>(args.resources, "HealthGate");
        for (const routes of ofKind<TrafficStateProps>(args.resources, "TrafficState")) {
            for (const p of gateProblems(routes, gates)) report(p, routes.urn);
        }
    },
};
