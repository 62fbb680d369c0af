// What serves users now, read from the engine once per `pulumi preview`/`up` (issue #12): the live traffic share and
// each guarded container's fingerprint. Every guarded container carries it as its `guard` input, so the policy pack
// can tell from plain values whether an update would replace what serves users (policy/live.ts); the container
// provider reads the share again at diff time and refuses on its own (providers/dockerContainer.ts).
import * as pulumi from "@pulumi/pulumi";
import type { Guard } from "../policy/liveSpec";
import { connect, type DockerConnection } from "./docker/engine";
import { liveWeights, runningSpec, shareOf } from "./docker/live";

export interface Observed {
    /** Each colour's live share; undefined: nothing served yet; null: a running balancer's state can't be read. */
    readonly weights: Record<string, number> | null | undefined;
    /** Each container's fingerprint, by name (null: not running, or made before fingerprints). */
    readonly specs: Record<string, Record<string, string> | null>;
}

/** Tests under Pulumi mocks set this instead of letting the program read an engine. */
type Observer = (containers: string[]) => Observed;
const seam = () => (globalThis as { __noteshubObserve?: Observer }).__noteshubObserve;

async function observe(docker: DockerConnection, balancer: string, containers: string[]): Promise<Observed> {
    const fake = seam();
    if (fake) return fake(containers);
    try {
        const d = connect(docker);
        const [weights, ...specs] = await Promise.all([liveWeights(d, balancer), ...containers.map((c) => runningSpec(d, c))]);
        return { weights, specs: Object.fromEntries(containers.map((c, i) => [c, specs[i]])) };
    } catch {
        // The engine can't be read (preflight says why); the provider's own check still guards at diff time.
        return { weights: null, specs: Object.fromEntries(containers.map((c) => [c, null])) };
    }
}

export type GuardOf = (container: string, color: string, what: string) => pulumi.Output<Guard>;

/** One read of the engine for every guarded container, and the guard each of them gets from it. */
export function guards(docker: DockerConnection, balancer: string, containers: string[], allowOutage: boolean): GuardOf {
    const observed = observe(docker, balancer, containers);
    // Secret: the fingerprint hashes every environment value, the database password's too; state keeps it encrypted.
    return (container, color, what) => pulumi.secret(pulumi.output(observed.then((o): Guard => ({
        color, what, balancer, share: shareOf(o.weights, color), running: o.specs[container] ?? null, allowOutage,
    }))));
}
