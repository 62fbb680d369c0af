// Zero-drop replacement of a service that can run twice at once (the balancer's nginx instances, issue #12): the
// new member is ready first; then each old member is told to send its clients away (the balancer answers with
// `Connection: close`, so a client finishes its request and reconnects, reaching the new member), and once its
// clients have left, or after `drainSec`, it is stopped gracefully (in-flight requests finish).
// Captured by the container provider's closure, so modules are `require`d inside.
import type Dockerode from "dockerode";
import { execIn } from "./engine";

export interface Handover {
    /** Containers with this label value are one service: a new one, once ready, takes over from the others. */
    readonly group: string;
    /** Run in an old member to start draining it. */
    readonly drain: string[];
    /** Run in an old member: prints how many client connections it still has. */
    readonly connections: string[];
    /** Longest wait for an old member's clients to leave before it is stopped anyway. */
    readonly drainSec: number;
    /**
     * A network to try a new member on first, on its own address where no user reaches it: it joins the service
     * only once it proved ready there (a new member that listens serves at once).
     */
    readonly trialNetwork?: string;
}

export const HANDOVER_LABEL = "io.noteshub.handover";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ignoreGone = (err: unknown) => {
    const code = (err as { statusCode?: number }).statusCode;
    if (code !== 304 && code !== 404 && code !== 409) throw err;
};

/** Open client connections of a member; undefined when it can't tell (then waiting is pointless). */
async function connections(docker: Dockerode, id: string, h: Handover): Promise<number | undefined> {
    const r = await execIn(docker, id, h.connections).catch(() => undefined);
    const n = r && r.exitCode === 0 ? Number(r.stdout.trim()) : NaN;
    return Number.isFinite(n) ? n : undefined;
}

/** Drains, stops and removes one old member; returns how long its clients took to leave (ms) and how many stayed. */
export async function retire(docker: Dockerode, id: string, h: Handover, stopTimeoutSec: number): Promise<{ drainMs: number; stayed: number }> {
    const start = Date.now();
    let stayed = 0;
    const c = docker.getContainer(id);
    if ((await c.inspect().catch(() => undefined))?.State.Running) {
        await execIn(docker, id, h.drain).catch(() => undefined);
        for (const deadline = start + h.drainSec * 1000; ;) {
            const n = await connections(docker, id, h);
            stayed = n ?? 0;
            if (!n || Date.now() > deadline) break;
            await sleep(100);
        }
        await c.stop({ t: stopTimeoutSec }).catch(ignoreGone);
    }
    await c.remove({ force: true, v: true }).catch(ignoreGone);
    return { drainMs: Date.now() - start, stayed };
}

/** Hands over from every other member of `h.group` (older instances, or leftovers of an interrupted run) to `selfId`. */
export async function handOver(docker: Dockerode, selfId: string, h: Handover, stopTimeoutSec: number): Promise<void> {
    const others = (await docker.listContainers({ all: true, filters: { label: [`${HANDOVER_LABEL}=${h.group}`] } })).filter((c) => c.Id !== selfId);
    for (const o of others) await retire(docker, o.Id, h, stopTimeoutSec);
}
