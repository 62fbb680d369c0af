// Stands in front of `pulumi destroy` (issue #12): it depends on everything the stack runs, so a destroy deletes it
// first, and it refuses while any colour serves, before anything else is touched (deletes run dependents first, and
// a failed one stops the rest). NOTESHUB_ALLOW_OUTAGE=1 for that one command lets the destroy go on.
// It also carries what serves now (the program's engine read), for the policy pack: an update that no longer declares
// one of those containers would delete it (policy/live.ts, serving-containers-kept). It is updated in place whenever
// that list changes: the pack's stack policies read each resource's outputs, which for an unchanged one come from state.
import * as pulumi from "@pulumi/pulumi";
import type { Serving } from "../../policy/liveSpec";
import type { DockerConnection } from "../docker/engine";
import { outageAllowed, servingShare } from "../docker/guard";
import { diffInputs } from "./diff";

export interface DestroyGuardArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** The balancer's holder, whose traffic state says whether anything serves. */
    readonly balancer: string;
    readonly stack: string;
    /** The containers that serve now. */
    readonly serving: pulumi.Input<Serving[]>;
}

interface Inputs {
    docker: DockerConnection;
    balancer: string;
    stack: string;
    kind: "DestroyGuard";
    serving: Serving[];
}

export const provider = {
    async diff(_id: string, olds: Inputs, news: Inputs) {
        return diffInputs(olds as never, news as never, { outputs: ["kind"], inPlace: ["docker", "balancer", "stack", "serving"] });
    },
    async create(inputs: Inputs) {
        return { id: `destroy-guard-${inputs.stack}`, outs: inputs };
    },
    async update(_id: string, _olds: Inputs, news: Inputs) {
        return { outs: news };
    },
    async delete(_id: string, props: Inputs) {
        if (outageAllowed()) return;
        const share = await servingShare(props.docker, { balancer: props.balancer, color: "*" });
        if (share === 0) return;
        throw new Error(`stack ${props.stack} ${share === null ? "may serve traffic (its traffic state can't be read)" : "serves traffic"}: taking it down stops what serves. `
            + `To do it anyway, run that one command with NOTESHUB_ALLOW_OUTAGE=1 (the data volumes stay). Nothing was changed.`);
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class DestroyGuard extends pulumi.dynamic.Resource {
    constructor(name: string, args: DestroyGuardArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, kind: "DestroyGuard" }, opts, "noteshub", "DestroyGuard");
    }
}
