// Containers are hardened (runbook "Security"): none privileged; the app, the balancer's holder and nginx instances,
// and the colours' address holders run as a non-root user, with no-new-privileges and every Linux capability dropped (none needs one: the
// balancer listens on 8080).
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { roleOf, type ContainerProps } from "./resources";

const UNPRIVILEGED_ROLES = ["app", "load-balancer", "balancer", "address"];
/** root, or the root group, in any spelling Docker accepts: `root`, `0`, `00`, `+0`, `x:0`, `0:x`, `x:root`. */
export const meansRoot = (user: string): boolean => user.split(":").some((p) => p === "root" || /^\+?0+$/.test(p));
const isRoot = (user: string | undefined) => !user || meansRoot(user);

export function hardeningProblems(role: string, c: ContainerProps): string[] {
    const where = `container ${c.name} (${role})`;
    const problems: string[] = [];
    if (c.privileged === true) problems.push(`${where} is privileged. Fix: remove privileged; grant a single capability in capAdd if one is truly needed.`);
    if (!UNPRIVILEGED_ROLES.includes(role)) return problems;
    if (isRoot(c.user)) problems.push(`${where} runs as ${c.user ? `"${c.user}"` : "the image's default user (root unless the image says otherwise)"}. Fix: set a non-root user (app: pulumi config set --path app.user <user>).`);
    if (!(c.securityOpt ?? []).some((o) => /^no-new-privileges(:true|=true)?$/.test(o))) problems.push(`${where} lacks securityOpt no-new-privileges, so a setuid binary could gain privileges. Fix: add "no-new-privileges:true" (infra/names.ts HARDENED).`);
    if (!(c.capDrop ?? []).includes("ALL")) problems.push(`${where} keeps Linux capabilities. Fix: capDrop ["ALL"] (infra/names.ts HARDENED).`);
    if ((c.capAdd ?? []).length > 0) problems.push(`${where} adds capabilities ${c.capAdd!.join(", ")}. Fix: remove them from capAdd.`);
    return problems;
}

export const containersHardened: ResourceValidationPolicy = {
    name: "containers-hardened",
    description: "No privileged containers; app and load balancer non-root with no-new-privileges and all capabilities dropped.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const role = roleOf(args);
        if (!role) return;
        for (const p of hardeningProblems(role, args.props as ContainerProps)) report(p);
    },
};
