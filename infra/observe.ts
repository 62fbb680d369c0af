// What serves users now, read from the engine once per `pulumi preview`/`up` (issue #12): the live traffic share,
// each guarded container's fingerprint, and every running container of the stack. Every guarded container carries
// it as its `guard` input, so the policy pack can tell from plain values whether an update would replace what serves
// users (policy/live.ts); the containers that serve are listed for the destroy guard, so the pack can also tell when
// an update would delete one. The container provider reads the share again at diff and delete, and refuses on its own.
import * as pulumi from "@pulumi/pulumi";
import { hashOf, type Guard, type Serving } from "../policy/liveSpec";
import { connect, type DockerConnection } from "./docker/engine";
import { liveWeights, runningOf, runningSpec, servingOf, shareOf, type RunningContainer } from "./docker/live";

export interface Observed {
    /** Each colour's live share; undefined: nothing served yet; null: a running balancer's state can't be read. */
    readonly weights: Record<string, number> | null | undefined;
    /** Each container's fingerprint, by name (null: not running, or made before fingerprints). */
    readonly specs: Record<string, Record<string, string> | null>;
    /** Every running container the stack owns; null when they can't be listed. */
    readonly running: RunningContainer[] | null;
}

/** Tests under Pulumi mocks set this instead of letting the program read an engine. */
type Observer = (containers: string[]) => Observed;
const seam = () => (globalThis as { __noteshubObserve?: Observer }).__noteshubObserve;

async function observe(docker: DockerConnection, balancer: string, owner: string, containers: string[]): Promise<Observed> {
    const fake = seam();
    if (fake) return fake(containers);
    try {
        const d = connect(docker);
        const [weights, running, ...specs] = await Promise.all([liveWeights(d, balancer), runningOf(d, owner), ...containers.map((c) => runningSpec(d, c))]);
        return { weights, running, specs: Object.fromEntries(containers.map((c, i) => [c, specs[i]])) };
    } catch {
        // The engine can't be read (preflight says why); the provider's own check still guards at diff time.
        return { weights: null, running: null, specs: Object.fromEntries(containers.map((c) => [c, null])) };
    }
}

export type GuardOf = (container: string, color: string, what: string) => pulumi.Output<Guard>;

export interface Watch {
    /** The guard each guarded container gets. */
    readonly guardOf: GuardOf;
    /** The containers that serve when they have a share (none when the operator accepts an outage for this command). */
    readonly serving: pulumi.Output<Serving[]>;
}

/** One read of the engine for every guarded container: the guard each of them gets, and what serves now. */
export function guards(docker: DockerConnection, where: { balancer: string; owner: string }, containers: string[], allowOutage: boolean): Watch {
    const { balancer, owner } = where;
    const observed = observe(docker, balancer, owner, containers);
    return {
        // Secret: the fingerprint hashes every environment value, the database password's too; state keeps it encrypted.
        guardOf: (container, color, what) => pulumi.secret(pulumi.output(observed.then((o): Guard => ({
            color, what, balancer, share: shareOf(o.weights, color), running: o.specs[container] ?? null, allowOutage,
        })))),
        // Names only. Containers that can't be listed: the provider's delete still refuses on its own.
        serving: pulumi.output(observed.then((o) => (allowOutage || !o.running ? [] : servingOf(o.running)))),
    };
}

/** A running container made with the root login that nothing else replaces (the same image): it keeps that login. */
export function keepsRootLogin(running: Record<string, string> | null, rootUri: string, imageId: string): boolean {
    return running !== null && running["env.MONGODB_URI"] === hashOf(rootUri) && running.imageId === hashOf(imageId);
}
