// Stack config, parsed once (STYLE habit 4). Every problem is collected and reported together, each as
// `noteshub:<path>: <what is wrong>; fix: <command>`, before any resource is declared (INVARIANTS 9).
import { meansRoot } from "../policy/containers";
import { productionByName, productionFacts, productionProblems, type ProductionFacts } from "./production";
import { fromRoot } from "./paths";
import { storageOf } from "./stackFile";
import { z } from "zod";

export const NAMESPACE = "noteshub";
export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];
export const otherColor = (c: Color): Color => (c === "blue" ? "green" : "blue");

/** A version as stack config writes it: v1.2.3. */
export const VERSION_RE = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const version = z.string({ error: "required: a version like v1.2.3" }).regex(VERSION_RE, {
    error: (iss) => `must look like vX.Y.Z (e.g. v1.2.3), got ${JSON.stringify(iss.input)}`,
});
const port = z.number({ error: "must be a port number" }).int("must be a whole number").min(1, "must be 1-65535").max(65535, "must be 1-65535");
// `pulumi config set --path a.B 1` stores a number: environment values take numbers and booleans as their text.
const envMap = z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"),
    z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

const seconds = z.number({ error: "must be a number of seconds" }).int("must be whole seconds").min(1, "must be at least 1 second").max(86_400);
const millis = z.number({ error: "must be milliseconds" }).int().min(1).max(600_000);
// The settings that may be fractions (hours, percentages) also take a decimal as text: `pulumi config set` (with
// --path too) stores 1.5 as the text "1.5", and only whole numbers are read as numbers before the schema (so a
// version like 1.2 still gets its own message).
const decimal = <T extends z.ZodType>(inner: T) => z.preprocess((v) => (typeof v === "string" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v), inner);
const hours = decimal(z.number({ error: "must be a number of hours (e.g. 24)" }).positive("must be more than 0 hours").max(24 * 90, "must be at most 2160 hours (90 days)"));
/** A container's limits (infra/render/containerSpec.ts Limits), each with its default. */
const limits = (d: { memoryMb: number; cpus: number; pids: number }) => z.strictObject({
    memoryMb: z.number({ error: "must be megabytes" }).int("must be whole megabytes").min(32, "must be at least 32 MB").max(1_048_576).default(d.memoryMb),
    /** CPUs' worth of time; at most the Docker host's CPUs (preflight checks). */
    cpus: decimal(z.number({ error: "must be a number of CPUs (e.g. 1 or 0.5)" }).min(0.05, "must be at least 0.05").max(512)).default(d.cpus),
    pids: z.number({ error: "must be a number of processes" }).int().min(16, "must be at least 16").max(4_194_304).default(d.pids),
}).prefault({});
const percent = decimal(z.number({ error: "must be a percentage" }).min(0, "must be 0-100").max(100, "must be 0-100"));

const schema = z.strictObject({
    environment: z.enum(["staging", "production"], { error: 'must be "staging" or "production"' }).default("staging"),
    activeColor: z.enum(COLORS, { error: (iss) => `must be "blue" or "green", got ${JSON.stringify(iss.input)}` }),
    /** Percent of requests the active colour gets; the other colour the rest (runbook "Gradual Traffic Shift"). */
    traffic: z.number({ error: "must be a percentage 0-100 (the runbook steps are 10, 25, 50, 100)" }).int("must be a whole percentage").min(0, "must be 0-100").max(100, "must be 0-100").default(100),
    blueVersion: version,
    greenVersion: version,
    /**
     * The idle colour, stopped (`noteshub retire`; runbook: decommission the previous colour after 24-48 h, stop a
     * failed release after an immediate rollback). Its container stays (docker logs still read it) and its image stays
     * on the host; a rollback to it starts it again (slower: it passes its whole health gate before traffic moves).
     */
    retired: z.enum(COLORS, { error: (iss) => `must be "blue" or "green" (the idle colour), got ${JSON.stringify(iss.input)}` }).optional(),
    /** `noteshub watch` retires the idle colour once it has had no traffic this long (runbook: 24-48 h); unset: never. */
    retireAfterHours: hours.optional(),
    retainedVersions: z.strictObject({ current: version, previous: version, archived: version }, { error: "required: { current, previous, archived }" }),
    /** The migration each retained version needs (its number, 0 for none): "versions know their schema". */
    schema: z.record(version, z.number({ error: "must be a migration number like 2 (0 for none)" }).int().min(0).max(999)).default({}),
    app: z.strictObject({
        /** Image repository; each version is `<repository>:<version>`. */
        repository: z.string().min(1).default("noteshub-api"),
        /** Build each retained version locally from this directory (staging); unset: pull from the registry. */
        build: z.string().min(1).optional(),
        /**
         * The registry digest of each released version (`noteshub release` records it): the Docker host pulls exactly
         * those bytes, `<repository>@<digest>`. Production requires one for every retained version.
         */
        digests: z.record(version, z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be a registry digest sha256:<64 hex>")).default({}),
        /** Port the app listens on inside its container. */
        port: port.default(8000),
        /** User the app runs as: never root (policy/containers.ts). The image must have it; examples/noteshub-api does. */
        // user[:group], each a name or a number; root in any spelling (0, 00, +0, a group 0) is refused.
        user: z.string().min(1)
            .regex(/^[A-Za-z0-9_.+-]+(:[A-Za-z0-9_.+-]+)?$/, 'must be "user" or "user:group", each a name or a number')
            .refine((u) => !meansRoot(u), "must not be root or the root group (containers run unprivileged)").default("noteshub"),
        /** Extra environment for both colours. */
        env: envMap.default({}),
        /** Extra environment for one version only (drills: NOTESHUB_FAIL_HEALTH, NOTESHUB_ERROR_RATE, ...). */
        envByVersion: z.record(version, envMap).default({}),
        /** How long a colour being stopped or replaced gets to finish its requests in flight (docker stop's grace). */
        drainSec: seconds.max(600).default(30),
        /** What each colour's container may use (changed in place: nothing restarts). */
        limits: limits({ memoryMb: 512, cpus: 1, pids: 256 }),
    }).prefault({}), // an absent section gets every field default above
    loadBalancer: z.strictObject({
        /** Host port the balancer publishes. */
        port: port.default(8080),
        /** Host address it binds; 0.0.0.0 to serve beyond this machine. */
        bindAddress: z.string().min(1).default("127.0.0.1"),
        /**
         * Preview of the idle colour (QA before it has a share): a request with this token in an X-NotesHub-Preview
         * header (or a noteshub_preview cookie) goes to the idle colour, or during a shift to the colour being promoted.
         * A secret; the balancer keeps only its SHA-256. Without it nobody is routed by anything but the shares.
         */
        previewToken: z.string().min(32, "must be at least 32 characters (a random token: openssl rand -hex 16)").max(256)
            .regex(/^[A-Za-z0-9._~-]+$/, "must be letters, digits and . _ ~ - (it travels in a header and a cookie)").optional(),
        /** When a new nginx instance takes over, the longest the old one waits for its clients to move before it quits. */
        drainSec: seconds.max(600).default(10),
        /**
         * Move connections still queued on an old instance's sockets to the new one (net.ipv4.tcp_migrate_req, Linux
         * 5.14+). Set false for a Docker host with an older kernel.
         */
        migrateAcceptQueue: z.boolean().default(true),
        /** What each nginx instance may use. */
        limits: limits({ memoryMb: 256, cpus: 1, pids: 128 }),
        /**
         * The name users reach NotesHub by (a DNS name or an address): what the `url` output names, and what the TLS
         * certificate must cover. Default: the bind address, or the remote Docker host's name when it binds 0.0.0.0.
         */
        hostname: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/, "must be a host name or an address").optional(),
        /**
         * HTTPS at the balancer (infra/tls.ts): it terminates TLS with this certificate and key, answers plain HTTP with
         * a redirect to HTTPS, and sends HSTS. A new certificate is a new nginx instance beside the old one: no request
         * is dropped. Each of the certificate and key comes either as config (the key a secret) or as a file on the
         * machine that runs pulumi, read at every `up`.
         */
        tls: z.strictObject({
            /** PEM: the server certificate, then any intermediates. */
            certificate: z.string().min(1).optional(),
            certificateFile: z.string().min(1).optional(),
            /** PEM private key; store it with `pulumi config set --secret`. */
            key: z.string().min(1).optional(),
            keyFile: z.string().min(1).optional(),
            /** Host port for HTTPS (443 in production); loadBalancer.port keeps answering plain HTTP with a redirect. */
            port: port.default(8443),
            /** Strict-Transport-Security max-age; 0 sends none. */
            hstsMaxAgeSec: z.number({ error: "must be a number of seconds" }).int("must be whole seconds").min(0).max(63_072_000).default(31_536_000),
        }).optional(),
    }).prefault({}),
    /**
     * Maintenance mode (`noteshub maintenance on|off`): the balancer answers every user request with 503, this message
     * and Retry-After, from the traffic state (no reload); health gates, deploys and rollbacks run behind it.
     */
    maintenance: z.strictObject({
        /** What users read (a number set by `--path` is taken as its text). */
        message: z.union([z.string(), z.number(), z.boolean()], { error: "required: the text users read" }).transform(String)
            .pipe(z.string().trim().min(1, "must not be empty").max(500, "must be at most 500 characters")),
        /** What Retry-After tells clients. */
        retryAfterSec: seconds.default(300),
    }, { error: "must be { message, retryAfterSec? }" }).optional(),
    healthGate: z.strictObject({
        /** Time between /health probes. */
        intervalMs: z.number().int().min(100, "must be at least 100 ms").max(60_000).default(1000),
        /** Healthy answers in a row needed before traffic moves. */
        successThreshold: z.number().int().min(1).max(100).default(3),
        /** Bad answers in a row that fail the gate (runbook: health check fails 3 times in a row). */
        failureThreshold: z.number().int().min(1).max(100).default(3),
        /** Give up (and fail `pulumi up`) after this long. */
        timeoutSec: z.number().int().min(1).max(3600).default(60),
        /** Smoke checks once healthy (runbook "Smoke Tests"): "METHOD /path" expecting 200, or {method, path, status}. */
        smoke: z.array(z.union([
            z.string().regex(/^(GET|HEAD|POST|PUT|DELETE) \/\S*$/, 'must look like "GET /api/notes"').transform((t) => ({ method: t.split(" ")[0], path: t.split(" ")[1], status: 200 })),
            z.strictObject({ method: z.enum(["GET", "HEAD", "POST", "PUT", "DELETE"]), path: z.string().startsWith("/"), status: z.number().int().min(100).max(599) }),
        ])).default([{ method: "GET", path: "/api/notes", status: 200 }]),
    }).prefault({}),
    database: z.strictObject({
        /** Image: the official `mongo:<tag>` in production; a locally built FerretDB image in staging. */
        image: z.string().min(1).default("mongo:7.0"),
        /** Build the database image from this directory instead of pulling it. */
        build: z.string().min(1).optional(),
        name: z.string().regex(/^[A-Za-z0-9_-]+$/, "must be letters, digits, _ or -").default("noteshub"),
        username: z.string().min(1).default("noteshub"),
        password: z.string({ error: "required" }).min(12, "must be at least 12 characters"),
        /** Publish the database on this loopback port of the Docker host (staging only; never in production). */
        hostPort: port.optional(),
        /**
         * Take over a database that is not this stack's (another stack's, or an empty one after database.image,
         * database.name or docker.host changed): only on purpose, for one `up`.
         */
        adopt: z.boolean().default(false),
        /** What the database container may use (mongod sizes its cache to the memory limit). */
        limits: limits({ memoryMb: 2048, cpus: 1, pids: 512 }),
    }, { error: "required: { password } at least" }),
    /**
     * What `noteshub deploy` and `noteshub watch` watch, and when they roll back on their own (runbook "Monitoring &
     * Alerts", "Rollback Triggers"). The runbook's values are the defaults; tests and drills use seconds.
     */
    monitoring: z.strictObject({
        /** The sliding window rates and p95 are reported over. */
        windowSec: seconds.default(60),
        /** Fewer requests than this in the window: too few to judge a rate or a p95. */
        minRequests: z.number().int().min(1).default(10),
        warning: z.strictObject({ errorRate: percent.default(1), p95Ms: millis.default(1000), dbQueryMs: millis.default(100) }).prefault({}),
        critical: z.strictObject({ errorRate: percent.default(5), p95Ms: millis.default(3000), dbQueryMs: millis.default(500) }).prefault({}),
        triggers: z.strictObject({
            /** Roll back when the live colour's error rate stays above this for `forSec`. */
            errorRate: z.strictObject({ percent: percent.default(10), forSec: seconds.default(300) }).prefault({}),
            /** ... or its p95 stays above this for `forSec`. */
            p95: z.strictObject({ ms: millis.default(5000), forSec: seconds.default(300) }).prefault({}),
            /** ... or its /health fails this many times in a row, probed every `intervalSec`. */
            health: z.strictObject({ failures: z.number().int().min(1).max(100).default(3), intervalSec: seconds.default(10) }).prefault({}),
            /** ... or its /health reports the database connection failing this many times in a row. */
            database: z.strictObject({ failures: z.number().int().min(1).max(100).default(3) }).prefault({}),
        }).prefault({}),
        /** How long `noteshub deploy` watches each traffic step before the next (runbook: monitor between steps). */
        stepSec: seconds.default(60),
        /** How long `noteshub watch` watches (runbook: 15-30 minutes after a deploy); 0 runs until stopped. */
        watchSec: z.number().int().min(0).default(1800),
        /** While a rollback runs, a status update this often (runbook: every 5 minutes). */
        statusEverySec: seconds.default(300),
    }).prefault({}),
    /** Where rollbacks are announced (runbook "Communication Protocol"). */
    notifications: z.strictObject({
        /** Webhook the runbook's messages are POSTed to (Slack-style {"text"} plus the figures). Store it as a secret. */
        webhook: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
        /** Delivery attempts per message; a failed delivery never blocks a rollback. */
        attempts: z.number().int().min(1).max(20).default(4),
        timeoutSec: seconds.default(5),
    }).prefault({}),
    /**
     * Hooks (like kamal's and Flagger's): before and after `noteshub deploy` and every rollback, each a shell command
     * (run on the machine that runs noteshub, in the project directory, the facts as JSON on stdin) or an http(s)
     * URL (POSTed the facts). A failing pre-deploy hook stops the deploy before anything changes; a rollback is never
     * stopped by one (the failure is logged and said).
     */
    hooks: z.strictObject({
        preDeploy: z.array(z.string().min(1)).default([]),
        postDeploy: z.array(z.string().min(1)).default([]),
        preRollback: z.array(z.string().min(1)).default([]),
        postRollback: z.array(z.string().min(1)).default([]),
        /** The longest one hook may take; then it is stopped and counts as failed. */
        timeoutSec: seconds.max(3600).default(60),
    }).prefault({}),
    /** Credentials for the registry of app.repository (and of database.image when it is the same): store the password as a secret. */
    registry: z.strictObject({
        username: z.string().min(1),
        password: z.string().min(1),
    }).optional(),
    /** What `noteshub release <version>` builds, on this machine's Docker engine (DOCKER_HOST), and pushes to app.repository. */
    release: z.strictObject({
        /** The app's build context (a Dockerfile taking APP_VERSION). */
        context: z.string().min(1).optional(),
    }).prefault({}),
    /** Host names the production placeholder check lets through (a real host under .local, say). */
    allowHosts: z.array(z.string().min(1)).default([]),
    docker: z.strictObject({
        /** unix:///var/run/docker.sock (default), tcp://host:2376 (with tlsCertDir), or ssh://user@host. */
        host: z.string().regex(/^(unix|tcp|ssh|npipe):\/\//, "must start with unix://, tcp://, ssh:// or npipe://").default("unix:///var/run/docker.sock"),
        /** Directory with ca.pem, cert.pem and key.pem for tcp:// with TLS (like DOCKER_CERT_PATH). */
        tlsCertDir: z.string().min(1).optional(),
        /** For ssh://: the known_hosts file that must hold the host's key (an unknown or changed key is refused). */
        knownHosts: z.string().min(1).optional(),
        /** For ssh://: a private key file, instead of the running ssh-agent's keys. */
        identityFile: z.string().min(1).optional(),
    }).prefault({}),
});

export type NotesHubConfig = z.infer<typeof schema> & { stack: string; project: string };

/** The fix to print for an error at a config path. */
function fixFor(path: string): string {
    const secret = path === "database.password" || path === "database" || path === "loadBalancer.previewToken";
    if (path.startsWith("app.envByVersion")) return `pulumi config set --path 'app.envByVersion["v1.2.3"].NAME' 'value'`;
    if (path.startsWith("app.env")) return `pulumi config set --path 'app.env.NAME' 'value'`;
    const example: Record<string, string> = {
        activeColor: "blue",
        blueVersion: "v1.2.2",
        greenVersion: "v1.2.3",
        "database.password": "<a long random password>",
        environment: "staging",
        traffic: "25",
    };
    const value = example[path] ?? (path.startsWith("retainedVersions") ? "v1.2.3" : "<value>");
    return `pulumi config set${secret ? " --secret" : ""} --path '${path}' '${value}'`;
}

export class ConfigError extends Error {
    constructor(readonly problems: string[], stack: string) {
        super(`stack ${stack}: ${problems.length} config problem${problems.length === 1 ? "" : "s"}, nothing was changed:\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

/** Reads Pulumi's raw config map (`namespace:key` -> string, objects JSON-encoded) into plain values. */
function collectRaw(raw: Record<string, string>, problems: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(raw)) {
        const [ns, key] = fullKey.split(":", 2);
        if (ns !== NAMESPACE || key === undefined) continue;
        let value: unknown = text;
        if (/^\s*[[{]/.test(text) || /^-?\d+$/.test(text) || text === "true" || text === "false") {
            try {
                value = JSON.parse(text);
            } catch {
                problems.push(`${NAMESPACE}:${key}: is not valid JSON: ${text.slice(0, 60)}`);
            }
        }
        out[key] = value;
    }
    return out;
}

function closest(word: string, options: string[]): string | undefined {
    const lower = word.toLowerCase();
    return options.find((o) => o.toLowerCase() === lower || o.toLowerCase().startsWith(lower.slice(0, 5)));
}

const isVersion = (v: unknown): v is string => typeof v === "string" && VERSION_RE.test(v);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * Rules across fields. They read the raw values defensively so they run even when another field failed the schema:
 * a user fixing config sees every problem in one go, not one per attempt.
 */
function crossCheck(values: Record<string, unknown>, problems: string[], stack: string, facts: ProductionFacts): void {
    const rv = obj(values.retainedVersions);
    const retained = [rv.current, rv.previous, rv.archived];
    const allValid = retained.every(isVersion);
    if (allValid && new Set(retained).size !== 3) {
        problems.push(`${NAMESPACE}:retainedVersions: current, previous and archived must be three different versions, got ${retained.join(", ")}; fix: pulumi config set --path 'retainedVersions.archived' <an older version>`);
    }
    if (allValid) {
        for (const color of COLORS) {
            const v = values[`${color}Version`];
            if (isVersion(v) && !retained.includes(v)) {
                problems.push(`${NAMESPACE}:${color}Version: ${v} is not one of the retained versions (${retained.join(", ")}); fix: pulumi config set ${color}Version ${rv.current}, or add ${v} to retainedVersions`);
            }
        }
        const schema = obj(values.schema);
        for (const v of retained) {
            if (schema[v] === undefined) problems.push(`${NAMESPACE}:schema.${v}: required: the migration retained version ${v} needs (0 for none); fix: pulumi config set --path 'schema["${v}"]' 2`);
        }
        for (const v of Object.keys(schema)) {
            if (isVersion(v) && !retained.includes(v)) problems.push(`${NAMESPACE}:schema.${v}: ${v} is not a retained version; fix: pulumi config rm --path 'schema["${v}"]'`);
        }
        for (const v of Object.keys(obj(obj(values.app).envByVersion))) {
            if (isVersion(v) && !retained.includes(v)) problems.push(`${NAMESPACE}:app.envByVersion.${v}: ${v} is not a retained version; fix: pulumi config rm --path 'app.envByVersion.${v}'`);
        }
    }
    // A retired colour is stopped: it can't have a share (the colour with a share is never touched, INVARIANTS 4).
    if ((values.retired === "blue" || values.retired === "green") && (values.retired === values.activeColor ? values.traffic !== 0 : typeof values.traffic === "number" && values.traffic < 100)) {
        const share = values.retired === values.activeColor ? (values.traffic ?? 100) : 100 - Number(values.traffic);
        problems.push(`${NAMESPACE}:retired: ${String(values.retired)} is retired (stopped) but gets ${share} % of traffic; a colour with a share runs; fix: pulumi config rm retired (noteshub rollback and deploy do that for you)`);
    }
    const db = obj(values.database);
    const lbPort = obj(values.loadBalancer).port ?? 8080;
    if (db.hostPort !== undefined && db.hostPort === lbPort) {
        problems.push(`${NAMESPACE}:database.hostPort: ${db.hostPort} is also loadBalancer.port; fix: pulumi config set --path 'database.hostPort' <another port>`);
    }
    const tls = obj(values.loadBalancer).tls;
    if (tls !== undefined) {
        const t = obj(tls);
        const tlsPort = t.port ?? 8443;
        if (tlsPort === lbPort) problems.push(`${NAMESPACE}:loadBalancer.tls.port: ${tlsPort} is also loadBalancer.port (which answers plain HTTP with a redirect); fix: pulumi config set --path 'loadBalancer.tls.port' 443`);
        if (db.hostPort !== undefined && db.hostPort === tlsPort) problems.push(`${NAMESPACE}:database.hostPort: ${db.hostPort} is also loadBalancer.tls.port; fix: pulumi config set --path 'database.hostPort' <another port>`);
        for (const part of ["certificate", "key"] as const) {
            const given = [t[part], t[`${part}File`]].filter((v) => v !== undefined).length;
            if (given !== 1) {
                problems.push(`${NAMESPACE}:loadBalancer.tls.${part}: ${given === 0 ? "required" : `give ${part} or ${part}File, not both`}; fix: ` +
                    (part === "key" ? `pulumi config set --secret --path 'loadBalancer.tls.key' < key.pem, or pulumi config set --path 'loadBalancer.tls.keyFile' /path/to/key.pem`
                        : `pulumi config set --path 'loadBalancer.tls.certificate' < cert.pem, or pulumi config set --path 'loadBalancer.tls.certificateFile' /path/to/cert.pem`));
            }
        }
    }
    if (values.environment === "production") {
        if (db.hostPort !== undefined) {
            problems.push(`${NAMESPACE}:database.hostPort: production must not publish the database on the host; fix: pulumi config rm --path 'database.hostPort'`);
        }
        const dk = obj(values.docker);
        if (typeof dk.host === "string" && dk.host.startsWith("tcp://") && !dk.tlsCertDir) {
            problems.push(`${NAMESPACE}:docker.tlsCertDir: a tcp:// Docker host in production needs TLS; fix: pulumi config set --path 'docker.tlsCertDir' ~/.docker/noteshub`);
        }
        problems.push(...productionProblems(values, stack, facts));
    }
}

/** Parses and cross-checks the whole config; throws one ConfigError listing every problem. */
export function parseConfig(raw: Record<string, string>, stack: string, project = NAMESPACE, facts: ProductionFacts = {}): NotesHubConfig {
    const problems: string[] = [];
    const values = collectRaw(raw, problems);
    // One rule for what production is: a stack the policy pack counts as production by name is production here.
    if (productionByName(stack)) {
        if (values.environment === "staging") {
            problems.push(`${NAMESPACE}:environment: stack ${stack} is production by its name (the policy pack's productionStacks), so it can't be staging; fix: pulumi config rm environment (or use a stack name that is not production's)`);
        }
        values.environment = "production";
    }
    const result = schema.safeParse(values);
    if (!result.success) {
        for (const issue of result.error.issues) {
            if (issue.code === "unrecognized_keys") {
                const shape = issue.path.length === 0 ? Object.keys(schema.shape) : [];
                for (const key of issue.keys) {
                    const where = [...issue.path, key].join(".");
                    const hint = closest(key, shape);
                    problems.push(`${NAMESPACE}:${where}: unknown setting${hint ? `; did you mean ${hint}?` : ""}; fix: pulumi config rm --path '${where}'`);
                }
                continue;
            }
            const path = issue.path.join(".");
            problems.push(`${NAMESPACE}:${path}: ${issue.message}; fix: ${fixFor(path)}`);
        }
    }
    crossCheck(values, problems, stack, facts);
    if (problems.length > 0 || !result.success) throw new ConfigError(problems, stack);
    return { ...result.data, stack, project };
}

/** The schema the running colours need: the newest any of them needs (expand before contract, INVARIANTS 5). */
export const targetSchema = (cfg: NotesHubConfig): number => Math.max(cfg.schema[cfg.blueVersion] ?? 0, cfg.schema[cfg.greenVersion] ?? 0);

/** The retained versions, newest first. */
export const retainedList = (cfg: NotesHubConfig): string[] => [cfg.retainedVersions.current, cfg.retainedVersions.previous, cfg.retainedVersions.archived];

/** What a colour's container is told as PREVIOUS_VERSION (runbook "Environment Configuration"). */
export function previousVersionOf(cfg: NotesHubConfig, v: string): string {
    const list = retainedList(cfg);
    const i = list.indexOf(v);
    return i >= 0 && i + 1 < list.length ? list[i + 1] : "";
}

/** What the production rules need to know about this machine and the stack's file (the program and the CLI alike). */
export function stackFacts(stack: string): ProductionFacts {
    return productionFacts((key, path) => storageOf(stack, `${NAMESPACE}:${key}`, path), fromRoot(`Pulumi.${stack}.yaml`));
}

/** The stack's config from the running Pulumi program, parsed once; a RunError (no stack trace) on problems. */
export function loadConfig(): NotesHubConfig {
    // Imported here so the pure parser above stays usable without a Pulumi runtime.
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    try {
        const stack = pulumi.getStack();
        return parseConfig(pulumi.runtime.allConfig(), stack, pulumi.getProject(), stackFacts(stack));
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}
