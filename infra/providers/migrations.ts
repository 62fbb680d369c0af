// Database migrations as a dynamic provider (runbook "Database Migration Rollback", INVARIANTS 5, 6, 7, 8).
// `pulumi up` brings the schema to the target the running versions need: ups in order, downs newest first. Each
// applied migration's down is kept in this resource's state and in the database's changelog, so reverting to an
// earlier update (an older program without the migration) can still run it. Deleting the resource never touches
// data. It reaches the database through a relay in the database container (docker/relay.ts): no published port.
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, type DockerConnection } from "../docker/engine";
import { openRelay } from "../docker/relay";
import { describe, type Migration, type MigrationDescriptor, type Script } from "../migrations/load";
import { planSteps } from "../migrations/plan";
import { checkIdentity } from "../migrations/identity";
import { migrate, type RunResult } from "../migrations/runner";
import { waitForLogin } from "../migrations/ready";
import { ensureAppUser, type AppUser } from "../migrations/users";
import { changedInputs } from "./diff";

export interface DatabaseLogin {
    readonly username: string;
    readonly password: string;
    readonly database: string;
    /** Port the server listens on inside its container. */
    readonly port: number;
}

export interface MigrationsArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** The database container the relay enters; a new one re-checks the changelog. */
    readonly dbContainerId: pulumi.Input<string>;
    readonly login: pulumi.Input<DatabaseLogin>;
    /** Every migration in migrations/ (plain values, known at preview). */
    readonly migrations: Migration[];
    /** Highest migration number a running version needs. */
    readonly target: number;
    readonly stack: string;
    /** database.adopt: take the database over although it is not (or not yet) this stack's. */
    readonly adopt?: boolean;
    /** Where the database is (image, name, host), for the identity check's message. */
    readonly where: pulumi.Input<string>;
    /** The app's own login, made (or given its password) by every run (migrations/users.ts). */
    readonly appUser: pulumi.Input<AppUser>;
}

interface Inputs {
    docker: DockerConnection;
    dbContainerId: string;
    login: DatabaseLogin;
    migrations: Migration[];
    target: number;
    stack: string;
    adopt?: boolean;
    where?: string;
    appUser?: AppUser;
    /** For the policy pack (policy/migrations.ts): tells this resource apart from other dynamic ones. */
    kind?: "Migrations";
    /** Plain descriptors of every migration (has-down, checksums, what each touches) for the policy pack. */
    descriptors?: MigrationDescriptor[];
    /** What this update would run, computed in check() so `pulumi preview` shows it. */
    plan?: string[];
}

interface AppliedRecord {
    id: string;
    checksumUp: string;
    down: Script | null;
}

interface Outputs extends Inputs {
    /** The applied migrations with their downs: how an older program rolls them back. */
    applied: AppliedRecord[];
    /** The schema now in the database (highest applied migration number). */
    schema: number;
    /** What the last update ran. */
    ran: string[];
    /** The database carries this stack's identity (migrations/identity.ts): a database without it is another one. */
    identity?: boolean;
}

/** The plan preview shows: from what the last update left (its target) to the new target. */
function previewPlan(olds: Partial<Inputs>, news: Inputs): string[] {
    const applied = (olds.migrations ?? []).filter((m) => m.seq <= (olds.target ?? 0)).map((m) => m.id);
    try {
        return planSteps(applied, news.migrations.map((m) => m.id), news.target).map((s) => `${s.direction} ${s.id}`);
    } catch (err) {
        return [`error: ${(err as Error).message}`];
    }
}

/** How long a (first) boot may take until the stack's login works. */
const LOGIN_TIMEOUT_MS = 120_000;

async function run(news: Inputs, olds?: Outputs): Promise<Outputs> {
    const { MongoClient } = require("mongodb") as typeof import("mongodb");
    const docker = connect(news.docker);
    let relay: Awaited<ReturnType<typeof openRelay>>;
    try {
        relay = await openRelay(docker, news.dbContainerId, news.login.port);
    } catch (err) {
        throw engineError("open a relay to", `database container ${news.dbContainerId.slice(0, 12)}`, news.docker, err);
    }
    const l = news.login;
    const uri = `mongodb://${encodeURIComponent(l.username)}:${encodeURIComponent(l.password)}@${relay.address}/${l.database}?authSource=admin&directConnection=true`;
    let client: InstanceType<typeof MongoClient> | undefined;
    try {
        const downs = Object.fromEntries((olds?.applied ?? []).filter((a) => a.down).map((a) => [a.id, a.down!]));
        let result: RunResult;
        try {
            // Ready means the stack's login works: a first boot's temporary server without auth is not ready.
            client = await waitForLogin(() => new MongoClient(uri, { serverSelectionTimeoutMS: 3000 }), LOGIN_TIMEOUT_MS, `the database (${news.where ?? l.database})`, { firstBoot: !olds });
            // Before anything runs on it: is this the stack's database (migrations/identity.ts)?
            await checkIdentity(client.db(l.database), { stack: news.stack, adopt: news.adopt === true, where: news.where ?? `database ${l.database}`, ranBefore: olds ? { schema: olds.schema ?? 0, identity: olds.identity === true } : undefined });
            // The app's login before any colour starts with it (a rotated root password gives it a new one).
            if (news.appUser) await ensureAppUser(client.db("admin"), news.appUser, l.database);
            result = await migrate(client.db(l.database), { migrations: news.migrations, target: news.target, runBy: `${news.stack} (pid ${process.pid}, ${new Date().toISOString()})`, downs });
        } catch (err) {
            throw new Error(`migrations (stack ${news.stack}): ${(err as Error)?.message ?? require("node:util").inspect(err, { depth: 4 })}`);
        }
        // State keeps each down as it was when its up ran, from this side (what state had, or the program's file
        // for an up run now), never the database's copy: it is what a down read from the database is checked
        // against (runner.ts downFor), and anyone with the app's credentials can write the database.
        const ranUp = new Set(result.steps.filter((st) => st.direction === "up").map((st) => st.id));
        const program = (id: string) => news.migrations.find((m) => m.id === id)?.down;
        const applied = result.applied.map((e) => ({ id: e._id, checksumUp: e.checksumUp, down: (ranUp.has(e._id) ? program(e._id) : downs[e._id] ?? program(e._id)) ?? null }));
        return { ...news, applied, schema: result.applied.at(-1)?.seq ?? 0, ran: result.steps.map((s) => `${s.direction} ${s.id}`), identity: true };
    } finally {
        await client?.close().catch(() => undefined);
        await relay.close();
    }
}

const OUTPUTS = ["applied", "schema", "ran", "plan", "identity"];

export const provider = {
    async check(olds: Partial<Inputs>, news: Inputs) {
        return { inputs: { ...news, plan: previewPlan(olds, news) } };
    },
    async diff(_id: string, olds: Outputs, news: Inputs) {
        // The plan is derived from the rest; a new database container only re-checks, so everything is in place.
        return { changes: changedInputs(olds as never, news as never, OUTPUTS).length > 0, replaces: [] };
    },
    async create(inputs: Inputs) {
        return { id: `migrations-${inputs.stack}`, outs: await run(inputs) };
    },
    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: await run(news, olds) };
    },
    async delete() {
        // Never touches data (INVARIANTS 7): the schema and the changelog stay in the database.
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class Migrations extends pulumi.dynamic.Resource {
    declare readonly schema: pulumi.Output<number>;
    declare readonly ran: pulumi.Output<string[]>;
    declare readonly plan: pulumi.Output<string[]>;

    constructor(name: string, args: MigrationsArgs, opts?: pulumi.CustomResourceOptions) {
        const descriptors = args.migrations.map(describe);
        super(provider, name, { ...args, kind: "Migrations", descriptors, plan: undefined, applied: undefined, schema: undefined, ran: undefined }, { ...opts, additionalSecretOutputs: ["login", "appUser"] }, "noteshub", "Migrations");
    }
}
