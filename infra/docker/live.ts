// What the stack serves right now, read from the engine rather than from Pulumi state (issue #12): the traffic state
// the balancer routes by, and the fingerprint each running container was created with. State can lag what runs (an
// update that failed after a gate, a command killed midway); users are served by what runs.
// Captured by the dynamic providers' closures, so modules are `require`d inside the functions.
import type Dockerode from "dockerode";
import { SPEC_LABEL, URN_LABEL, type Serving } from "../../policy/liveSpec";

/** Marks the containers a stack owns (its value: the stack's name prefix). */
export const OWNER_LABEL = "io.noteshub.owner";
/** The Pulumi resource that made it: only that resource adopts it (a renamed one starts its own). */
export const RESOURCE_LABEL = "io.noteshub.resource";

/** Where the balancer's traffic state lives: a volume the port holder owns and every nginx instance reads. */
export const STATE_DIR = "/var/lib/noteshub/state";
export const STATE_FILE = `${STATE_DIR}/state.json`;
/** Where it lived before issue #12, inside the one nginx container (read so an older stack is still guarded). */
const LEGACY_STATE_FILE = "/etc/nginx/noteshub/state.json";

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

/** A file's text from a container's filesystem (running or not), through the engine's archive API; undefined if absent. */
export async function readFileIn(docker: Dockerode, container: string, path: string): Promise<string | undefined> {
    const tar = require("tar-stream") as typeof import("tar-stream");
    let stream: NodeJS.ReadableStream;
    try {
        stream = (await docker.getContainer(container).getArchive({ path })) as unknown as NodeJS.ReadableStream;
    } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
    }
    return new Promise((resolve, reject) => {
        const extract = tar.extract();
        let text: string | undefined;
        extract.on("entry", (header, body, next) => {
            const chunks: Buffer[] = [];
            body.on("data", (c: unknown) => chunks.push(c as Buffer));
            body.on("end", () => {
                if (header.type === "file" && text === undefined) text = Buffer.concat(chunks).toString("utf8");
                next();
            });
            body.resume();
        });
        extract.on("finish", () => resolve(text));
        extract.on("error", reject);
        stream.pipe(extract);
    });
}

/**
 * Each colour's live share: undefined when nothing is served (no balancer, not running, no state written yet),
 * null when a running balancer's state can't be read (then assume anything may be live).
 */
export async function liveWeights(docker: Dockerode, balancer: string): Promise<Record<string, number> | null | undefined> {
    let running: boolean;
    try {
        running = (await docker.getContainer(balancer).inspect()).State.Running;
    } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
    }
    if (!running) return undefined;
    let text: string | undefined;
    try {
        text = (await readFileIn(docker, balancer, STATE_FILE)) ?? (await readFileIn(docker, balancer, LEGACY_STATE_FILE));
    } catch {
        return null;
    }
    if (text === undefined) return undefined;
    try {
        const w = (JSON.parse(text) as { weights?: Record<string, unknown> }).weights;
        if (!w || typeof w !== "object") return null;
        return Object.fromEntries(Object.entries(w).map(([c, n]) => [c, Number(n) || 0]));
    } catch {
        return null;
    }
}

/** The share that makes a guarded container live: its colour's, or for "*" the largest any colour has. */
export function shareOf(weights: Record<string, number> | null | undefined, color: string): number | null {
    if (weights === undefined) return 0;
    if (weights === null) return null;
    return color === "*" ? Math.max(0, ...Object.values(weights)) : weights[color] ?? 0;
}

/** The running container's fingerprint label; null when it is absent, stopped, or made before fingerprints. */
export async function runningSpec(docker: Dockerode, name: string): Promise<Record<string, string> | null> {
    try {
        const info = await docker.getContainer(name).inspect();
        const label = info.State.Running ? info.Config.Labels?.[SPEC_LABEL] : undefined;
        return label ? (JSON.parse(label) as Record<string, string>) : null;
    } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err;
    }
}

/** A running container of the stack, by name, with its labels. */
export interface RunningContainer {
    readonly name: string;
    readonly labels: Record<string, string>;
}

/** Every running container the stack owns. */
export async function runningOf(docker: Dockerode, owner: string): Promise<RunningContainer[]> {
    const list = await docker.listContainers({ filters: { label: [`${OWNER_LABEL}=${owner}`] } });
    return list.map((c) => ({ name: (c.Names[0] ?? "").replace(/^\//, ""), labels: c.Labels ?? {} }));
}

/**
 * The running containers that serve users when they have a share: a colour's app and address holder, the balancer's
 * port holder and the database. Balancer instances are not listed: a new one takes over before the old one goes (and
 * the provider refuses to remove the last one). Whether they serve is the pack's to judge, from the declared shares.
 */
export function servingOf(running: RunningContainer[]): Serving[] {
    const out: Serving[] = [];
    for (const c of running) {
        const role = c.labels["io.noteshub.role"];
        const color = role === "app" || role === "address" ? c.labels["io.noteshub.color"] : role === "database" || role === "load-balancer" ? "*" : undefined;
        if (!color) continue;
        const what = color !== "*" ? `colour ${color}${role === "address" ? " (its address holder)" : ""}` : role === "database" ? "the database" : "the balancer's port holder";
        out.push({ container: c.name, color, what, urn: c.labels[URN_LABEL] ?? "", resource: c.labels[RESOURCE_LABEL] ?? "" });
    }
    return out.sort((a, b) => (a.container < b.container ? -1 : 1));
}
