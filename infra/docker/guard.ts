// The container provider's half of "what serves users is never touched" (issue #12, INVARIANTS 4); the policy pack's
// half is policy/live.ts. A container that carries a guard (a colour, the balancer's holder, the database) is never
// replaced, removed or swept aside as a leftover while the live traffic state gives it a share, unless the operator
// said NOTESHUB_ALLOW_OUTAGE=1 for that one command. The share is read from the engine the container runs on now.
// Captured by the provider's closure.
import { changedFields, fingerprint, liveChangeRefusal, loadOf, stableJson, type Guard } from "../../policy/liveSpec";
import { connect, type DockerConnection } from "./engine";
import { liveWeights, shareOf } from "./live";

/** Pulumi's marker for a value not known during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The operator accepts dropped requests for this command (the program passes it too, for the policy). */
export const outageAllowed = (g?: Pick<Guard, "allowOutage">) => g?.allowOutage === true || process.env.NOTESHUB_ALLOW_OUTAGE === "1";

/** The share that makes a guarded container live now, on the engine it runs on (null: can't tell, assume traffic). */
export async function servingShare(docker: DockerConnection, g: Pick<Guard, "balancer" | "color">): Promise<number | null> {
    return shareOf(await liveWeights(connect(docker), g.balancer), g.color);
}

type Props = Record<string, unknown> & { docker: DockerConnection; name: string; guard?: Guard };

/** What a replacement changes, field by field (env.X, labels.X), leaving out values not known yet (preview). */
export function knownChanges(olds: Props, news: Props, replaces: string[]): string[] {
    const declared = fingerprint(news);
    const value = (field: string) => {
        const [top, sub] = field.split(/\.(.*)/s);
        const v = news[top];
        return sub !== undefined && v && typeof v === "object" ? (v as Record<string, unknown>)[sub] : v;
    };
    // A replacing input the fingerprint leaves out (the engine it runs on) is a change too.
    const outside = replaces.filter((k) => !Object.keys(declared).some((d) => d === k || d.startsWith(`${k}.`)));
    return [...new Set([...changedFields(fingerprint(olds), declared), ...outside])].filter((f) => !stableJson(value(f)).includes(UNKNOWN));
}

/**
 * At diff (preview and up): refuses a replacement of a container that serves. Its share is read where it runs now
 * (the old engine and balancer, should the update move it). Fields not known yet are judged by the diff at `up`,
 * which still runs before anything is touched.
 */
export async function refuseReplacement(olds: Props, news: Props, replaces: string[]): Promise<void> {
    const g = news.guard!;
    if (outageAllowed(g)) return;
    const fields = knownChanges(olds, news, replaces);
    if (fields.length === 0) return;
    const share = await servingShare(olds.docker, { ...g, balancer: olds.guard?.balancer ?? g.balancer });
    if (share === 0) return;
    throw new Error(`docker: replace container ${news.name}: ${liveChangeRefusal(g, share, fields)}`);
}

/**
 * At delete, and before a leftover under the same name is swept aside: refuses to stop a container that serves
 * (a `pulumi up --replace` skips the diff; a renamed resource deletes the old one; `pulumi destroy` stops everything).
 */
export async function refuseRemoval(props: Props, why: string): Promise<void> {
    const g = props.guard;
    if (!g || outageAllowed()) return;
    const share = await servingShare(props.docker, g);
    if (share === 0) return;
    throw new Error(`docker: ${why} container ${props.name}: ${g.what} ${loadOf(g, share)}, so stopping it would drop requests. `
        + `To take the stack down anyway (pulumi destroy) or replace it by force, run that one command with NOTESHUB_ALLOW_OUTAGE=1; otherwise move its traffic first. Nothing was changed.`);
}
