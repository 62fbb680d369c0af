// The production database is not exposed (runbook "Security"): no host port, authentication on, and its password
// kept as a Pulumi secret rather than plaintext in Pulumi.<stack>.yaml.
import type { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { ofKind, roleOf, type ContainerProps, type ReleaseProps } from "./resources";

export interface DatabaseConfig {
    /** Stack names (`*` matches any run of characters) that count as production. */
    productionStacks: string[];
}
export const DATABASE_DEFAULTS: DatabaseConfig = { productionStacks: ["production", "prod", "prod-*", "production-*"] };
const schema: PolicyConfigSchema = {
    properties: { productionStacks: { type: "array", items: { type: "string" }, default: DATABASE_DEFAULTS.productionStacks } },
};

export function isProduction(stack: string, cfg: DatabaseConfig): boolean {
    return cfg.productionStacks.some((p) => new RegExp(`^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(stack));
}

export function databaseProblems(release: ReleaseProps, db: ContainerProps, cfg: DatabaseConfig): string[] {
    // Production by name (this pack's productionStacks) or by the stack's own config: the program counts both too.
    if (!isProduction(release.stack, cfg) && release.environment !== "production") return [];
    const where = `database container ${db.name} (production stack ${release.stack})`;
    const problems: string[] = [];
    for (const p of db.ports ?? []) {
        problems.push(`${where} publishes port ${p.container} on host ${p.hostIp}:${p.host}. Fix: pulumi config rm --path database.hostPort (the apps reach it on the stack network, migrations through docker exec).`);
    }
    const env = db.env ?? {};
    if (!env.MONGO_INITDB_ROOT_USERNAME || !env.MONGO_INITDB_ROOT_PASSWORD) {
        problems.push(`${where} starts without authentication (no MONGO_INITDB_ROOT_USERNAME/PASSWORD). Fix: set database.username and, as a secret, database.password.`);
    }
    if (release.databasePassword === "plaintext") {
        problems.push(`noteshub:database.password is plaintext in Pulumi.${release.stack}.yaml (production stack ${release.stack}). Fix: pulumi config set --secret --path database.password <password> --stack ${release.stack}.`);
    }
    return problems;
}

export const databaseNotExposed: StackValidationPolicy = {
    name: "database-not-exposed",
    description: "In production the database publishes no host port, requires authentication, and its password is a Pulumi secret.",
    enforcementLevel: "mandatory",
    configSchema: schema,
    validateStack: (args, report) => {
        const cfg = { ...DATABASE_DEFAULTS, ...args.getConfig<Partial<DatabaseConfig>>() };
        const [release] = ofKind<ReleaseProps>(args.resources, "Release");
        if (!release) return;
        for (const db of args.resources.filter((r) => roleOf(r) === "database")) {
            for (const p of databaseProblems(release.props, db.props as ContainerProps, cfg)) report(p, db.urn);
        }
    },
};
