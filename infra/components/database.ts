// The MongoDB-compatible database: the official mongo image in production, FerretDB on PostgreSQL in staging
// (images/ferretdb takes the same MONGO_INITDB_* settings), so nothing below depends on which one runs.
// Its data volume survives replacement and `pulumi destroy` (INVARIANTS 7). Auth is always on. Its image is pinned
// like the app's (a rebuilt tag never restarts it), and it is never replaced while any colour serves (issue #12).
import * as pulumi from "@pulumi/pulumi";
import type { NotesHubConfig } from "../config";
import { buildFrom } from "../docker/context";
import type { DockerConnection } from "../docker/engine";
import type { Guard } from "../../policy/liveSpec";
import type { Names } from "../names";
import { DockerContainer } from "../providers/dockerContainer";
import { DockerImage, type RegistryAuth } from "../providers/dockerImage";
import { DockerVolume } from "../providers/dockerVolume";

export interface DatabaseArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly names: Names;
    /** The stack's network; the database is reachable there as `<prefix>-db:27017`. */
    readonly network: pulumi.Input<string>;
    readonly settings: NotesHubConfig["database"];
    /** What the engine says runs now: the database is guarded while any colour has a share. */
    readonly guard: (container: string) => pulumi.Input<Guard>;
    /** How long to wait for the server to accept connections. Default 120 s (first start initialises storage). */
    readonly readyTimeoutSec?: number;
    /** Credentials for the image's registry, when it is the app's (a secret). */
    readonly auth?: pulumi.Input<RegistryAuth>;
}

export const DB_PORT = 27017;

/**
 * The app's own login (readWrite on the stack's database, made by the migrations run: migrations/users.ts): the app
 * never holds the root password. Its password is derived from the root one and the stack, so it needs no config of
 * its own and changes when the root password is rotated; it can't be turned back into the root password.
 */
export function appLogin(s: Pick<NotesHubConfig["database"], "username" | "password">, stack: string): { username: string; password: string } {
    const { createHmac } = require("node:crypto") as typeof import("node:crypto");
    return { username: `${s.username}-app`, password: createHmac("sha256", s.password).update(`noteshub app login for stack ${stack}`).digest("base64url").slice(0, 32) };
}

export class Database extends pulumi.ComponentResource {
    /** Connection string with the root login: what colours made before the app's login keep until their next version (secret). */
    readonly uri: pulumi.Output<string>;
    /** Connection string with the app's own login (appLogin), for the app containers (secret). */
    readonly appUri: pulumi.Output<string>;
    /** Connection string from the Docker host, when the database publishes a loopback port (secret). */
    readonly hostUri?: pulumi.Output<string>;
    readonly containerId: pulumi.Output<string>;
    readonly dataVolume: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("noteshub:database:Database", name, {}, opts);
        const s = args.settings;
        const host = args.names.of("db");
        // Tagged under the stack's own repository, built or pulled: no other stack's build or pull can move it.
        const ref = args.names.localRef(s.image);
        const image = new DockerImage(`${name}-image`, {
            docker: args.docker,
            name: ref,
            source: s.build ? undefined : s.image,
            auth: s.build ? undefined : args.auth,
            build: s.build ? buildFrom(s.build) : undefined,
            removeOnDelete: true,
            purpose: "the database",
        }, { parent: this });
        const volume = new DockerVolume(`${name}-data`, {
            docker: args.docker,
            name: args.names.of("dbdata"),
            labels: { ...args.names.labels, "io.noteshub.data": "database" },
        }, { parent: this });
        const password = pulumi.secret(s.password);
        const container = new DockerContainer(`${name}-container`, {
            docker: args.docker,
            owner: args.names.owner,
            name: host,
            image: ref,
            imageId: image.imageId,
            env: pulumi.all([password]).apply(([pw]) => ({ MONGO_INITDB_ROOT_USERNAME: s.username, MONGO_INITDB_ROOT_PASSWORD: pw })),
            network: args.network,
            aliases: [],
            ports: s.hostPort ? [{ container: DB_PORT, host: s.hostPort, hostIp: "127.0.0.1" }] : [],
            mounts: [{ volume: volume.name, target: "/data/db" }],
            labels: { ...args.names.labels, "io.noteshub.role": "database" },
            securityOpt: ["no-new-privileges:true"],
            capDrop: [],
            capAdd: [],
            // The server takes connections when this succeeds; bash's /dev/tcp works in both images.
            healthcheck: { test: ["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${DB_PORT}`], intervalMs: 1000, timeoutMs: 2000, retries: 60, startPeriodMs: 0 },
            limits: s.limits,
            stopTimeoutSec: 30,
            readyTimeoutSec: args.readyTimeoutSec ?? 120,
            guard: args.guard(host),
        }, { parent: this });
        // Plain values, known at preview even when the container changes in place (its new limits): the app colours wait
        // for the server through the migrations they depend on, not through these.
        const uri = (where: string, login = { username: s.username, password: s.password }) =>
            pulumi.secret(`mongodb://${encodeURIComponent(login.username)}:${encodeURIComponent(login.password)}@${where}/${s.name}?authSource=admin`);
        this.uri = uri(`${host}:${DB_PORT}`);
        this.appUri = uri(`${host}:${DB_PORT}`, appLogin(s, args.names.prefix));
        if (s.hostPort) this.hostUri = uri(`127.0.0.1:${s.hostPort}`);
        this.containerId = container.containerId;
        this.dataVolume = volume.name;
        this.registerOutputs({ uri: this.uri, containerId: this.containerId, dataVolume: this.dataVolume });
    }
}
