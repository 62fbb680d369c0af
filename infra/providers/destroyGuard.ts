// Stands in front of `pulumi destroy` (issue #12): it depends on everything the stack runs, so a destroy deletes it
// first, and it refuses while any colour serves, before anything else is touched (deletes run dependents first, and
// a failed one stops the rest). NOTESHUB_ALLOW_OUTAGE=1 for that one command lets the destroy go on.
// It also carries what serves now (the program's engine read), for the policy pack: an update that no longer declares
// one of those containers would delete it (policy/live.ts, serving-containers-kept). The pack's stack policies read
// each resource's outputs, which for an unchanged one come from state: so it keeps the list as it is once the update
// ran (it runs last), which is what the next update's read finds, and it changes only when the containers do.
import * as pulumi from "@pulumi/pulumi";
import type { Serving } from "../../policy/liveSpec";
import { connect, type DockerConnection } from "../docker/engine";
import { outageAllowed, servingShare } from "../docker/guard";
import { runningOf, servingOf } from "../docker/live";
import { diffInputs } from "./diff";

export interface DestroyGuardArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** The balancer's holder, whose traffic state says whether anything serves. */
    readonly balancer: string;
    readonly stack: string;
    /** Label value of the stack's containers (names.owner). */
    readonly owner: string;
    /** The containers that can serve now. */
    readonly serving: pulumi.Input<Serving[]>;
}

interface Inputs {
    docker: DockerConnection;
    balancer: string;
    stack: string;
    owner?: string;
    kind: "DestroyGuard";
    serving: Serving[];
}

/** Its outputs: what can serve now that the update ran (an operator's accepted outage listed nothing). */
async function afterUpdate(inputs: Inputs): Promise<Inputs> {
    if (!inputs.owner) return inputs;
    try {
        return { ...inputs, serving: servingOf(await runningOf(connect(inputs.docker), inputs.owner)) };
    } catch {
        return inputs; // the engine can't be listed: the next read will tell
    }
}

export const provider = {
    async diff(_id: string, olds: Inputs, news: Inputs) {
        return diffInputs(olds as never, news as never, { outputs: ["kind"], inPlace: ["docker", "balancer", "stack", "serving", "owner"] });
    },
    async create(inputs: Inputs) {
        return { id: `destroy-guard-${inputs.stack}`, outs: await afterUpdate(inputs) };
    },
    async update(_id: string, _olds: Inputs, news: Inputs) {
        return { outs: await afterUpdate(news) };
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
