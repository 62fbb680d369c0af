// What a production stack refuses before anything changes (issue #14), and the one rule for what production is: a
// stack the policy pack counts as production (productionStacks) is production here too, and in the CLI (the drill
// refuses it). Pure: the facts about the machine (the passphrase, how the stack file stores secrets) are gathered
// by `productionFacts` and passed in, so every refusal is tested exactly.
import { DATABASE_DEFAULTS, isProduction } from "../policy/database";
import { DIGEST_RE, parseRef, registryOf } from "./docker/ref";

/** The passphrase staging publishes for its throwaway secrets (scripts/lib.sh): never production's. */
export const STAGING_PASSPHRASE = "noteshub-staging";

export interface ProductionFacts {
    /** The secrets passphrase this run uses, when known (PULUMI_CONFIG_PASSPHRASE or the file it names). */
    readonly passphrase?: string;
    /** Config paths whose value Pulumi.<stack>.yaml holds as plaintext though they are secrets. */
    readonly plaintextSecrets?: readonly string[];
    /** Read by `noteshub release`, which is how a version gets its digest: a missing one is not its problem. */
    readonly releasing?: boolean;
    /** The stack's secrets use the passphrase provider (Pulumi.<stack>.yaml has an encryptionsalt); unknown: assume so. */
    readonly passphraseProvider?: boolean;
}

/** The config paths that hold secrets (stored with `pulumi config set --secret`). */
export const SECRET_PATHS = ["database.password", "registry.password", "notifications.webhook", "loadBalancer.tls.key", "loadBalancer.previewToken"] as const;

/** Is this stack production? By its config, or by its name as the policy pack counts it. */
export const productionByName = (stack: string): boolean => isProduction(stack, DATABASE_DEFAULTS);

// Names reserved for documentation and testing (RFC 2606, 6761): a config holding one was never finished.
const PLACEHOLDER = /(^|\.)(example\.(com|org|net)|example|invalid|test|localhost|local)$/i;

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
// Lower case and without a trailing dot: prod.EXAMPLE.com. is still example.com.
const hostOf = (hostPort: string) => (hostPort.startsWith("[") ? hostPort.replace(/^\[/, "").replace(/\](:\d+)?$/, "") : hostPort.replace(/:\d+$/, "")).toLowerCase().replace(/\.+$/, "");

/** The host names a production config reaches: the Docker host, the app's registry, the database image's registry. */
function hostsOf(values: Record<string, unknown>): { path: string; host: string }[] {
    const out: { path: string; host: string }[] = [];
    const dk = obj(values.docker);
    if (typeof dk.host === "string" && /^(tcp|ssh):\/\//.test(dk.host)) {
        try {
            out.push({ path: "docker.host", host: hostOf(new URL(dk.host).hostname) });
        } catch {
            // the schema reports a malformed URL
        }
    }
    const repo = obj(values.app).repository;
    if (typeof repo === "string" && registryOf(repo)) out.push({ path: "app.repository", host: hostOf(registryOf(repo)!) });
    const image = obj(values.database).image;
    if (typeof image === "string" && registryOf(parseRef(image).repo)) out.push({ path: "database.image", host: hostOf(registryOf(parseRef(image).repo)!) });
    return out;
}

/** Every reason this production config must not deploy, each with its fix. */
export function productionProblems(values: Record<string, unknown>, stack: string, facts: ProductionFacts = {}): string[] {
    const ns = "noteshub";
    const problems: string[] = [];
    const allowList = (Array.isArray(values.allowHosts) ? values.allowHosts : []).map((h) => hostOf(String(h)));
    const allowed = new Set(allowList);
    for (const { path, host } of hostsOf(values)) {
        if (PLACEHOLDER.test(host) && !allowed.has(host)) {
            problems.push(`${ns}:${path}: ${host} is a placeholder (a name reserved for examples and tests), not a production host; fix: pulumi config set --path '${path}' <the real one>` +
                (/\.local$/i.test(host) ? ` (or, if ${host} is real on your network: pulumi config set --path 'allowHosts[${allowList.length}]' ${host})` : ""));
        }
    }
    if (facts.passphraseProvider !== false && facts.passphrase !== undefined && (facts.passphrase === "" || facts.passphrase === STAGING_PASSPHRASE)) {
        problems.push(`stack ${stack}: its secrets passphrase is ${facts.passphrase === "" ? "empty" : `the one staging publishes (${STAGING_PASSPHRASE})`}: anyone could read production's secrets; ` +
            `fix: a long random passphrase in a file only the rota reads (PULUMI_CONFIG_PASSPHRASE_FILE), then pulumi stack change-secrets-provider passphrase --stack ${stack}`);
    }
    for (const path of facts.plaintextSecrets ?? []) {
        problems.push(`${ns}:${path}: is plaintext in Pulumi.${stack}.yaml; fix: pulumi config set --secret --path '${path}' <value> --stack ${stack}`);
    }
    const app = obj(values.app);
    if (app.build !== undefined) {
        problems.push(`${ns}:app.build: production pulls released images, it never builds; fix: pulumi config rm --path 'app.build', release each version with npm run noteshub -- release <version> (release.context names the source)`);
    }
    const db = obj(values.database);
    if (db.build !== undefined) {
        problems.push(`${ns}:database.build: production pulls the database image; fix: pulumi config rm --path 'database.build' and set database.image to the official image pinned by digest`);
    }
    if (typeof db.image === "string" && !DIGEST_RE.test(parseRef(db.image).digest ?? "")) {
        problems.push(`${ns}:database.image: ${db.image} is not pinned by digest, so a moved tag would start other bytes; fix: pulumi config set --path 'database.image' '${parseRef(db.image).repo}:${parseRef(db.image).tag ?? "<tag>"}@sha256:<digest>' (docker pull it, then docker inspect -f '{{index .RepoDigests 0}}')`);
    }
    const rv = obj(values.retainedVersions);
    const digests = obj(app.digests);
    for (const v of facts.releasing ? [] : [rv.current, rv.previous, rv.archived]) {
        if (typeof v === "string" && digests[v] === undefined) {
            problems.push(`${ns}:app.digests.${v}: retained version ${v} has no released digest, so the host would pull whatever the tag points at; fix: npm run noteshub -- release ${v} --stack ${stack} (it builds, pushes and records the digest; ` +
                `for a version this stack already runs from the registry, add --adopt to record the digest the Docker host has)`);
        }
    }
    return problems;
}

/** The facts productionProblems needs, from this process's environment and the stack's file. */
export function productionFacts(storage: (key: string, path: string[]) => string, stackFile?: string): ProductionFacts {
    const fs = require("fs") as typeof import("fs");
    let passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
    const file = process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
    if (passphrase === undefined && file) {
        try {
            passphrase = fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
        } catch {
            // Pulumi itself reports an unreadable passphrase file
        }
    }
    const plaintextSecrets = SECRET_PATHS.filter((p) => {
        const [key, ...rest] = p.split(".");
        return storage(key, rest) === "plaintext";
    });
    let passphraseProvider: boolean | undefined;
    try {
        if (stackFile) passphraseProvider = /^encryptionsalt:/m.test(fs.readFileSync(stackFile, "utf8"));
    } catch {
        // no stack file: unknown
    }
    return { passphrase, plaintextSecrets, passphraseProvider };
}
