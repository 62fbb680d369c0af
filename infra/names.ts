// Names on the Docker host carry the project and the stack (and the colour), so two stacks share one engine
// without collisions (STYLE habit 2). Labels let a provider recognise what this stack owns.
import type { NotesHubConfig } from "./config";

export interface Names {
    /** `<project>-<stack>`: the prefix of every container, network and volume name. */
    readonly prefix: string;
    /** Label value a container of this stack carries (io.noteshub.owner). */
    readonly owner: string;
    readonly labels: Record<string, string>;
    /** Docker name of a part, e.g. of("blue") -> noteshub-staging-blue. */
    of(part: string): string;
}

export function namesFor(cfg: Pick<NotesHubConfig, "project" | "stack">): Names {
    const prefix = `${cfg.project}-${cfg.stack}`.replace(/[^A-Za-z0-9_.-]/g, "-");
    return {
        prefix,
        owner: prefix,
        labels: { "io.noteshub.project": cfg.project, "io.noteshub.stack": cfg.stack },
        of: (part: string) => `${prefix}-${part}`,
    };
}

/** A colour's name on the stack network: its address holder's (components/appColor.ts). */
export const colorAddress = (names: Names, color: string): string => names.of(`${color}-addr`);

/** Hardening every app and balancer container gets (no new privileges, no Linux capabilities). */
export const HARDENED = { securityOpt: ["no-new-privileges:true"], capDrop: ["ALL"], capAdd: [] as string[] };
