// NotesHub blue-green on one Docker engine: network, data volumes, database, three retained app images,
// blue and green containers, and the NGINX balancer routing to `activeColor`. A rollback is a config change
// (`activeColor`, `<color>Version`) and `pulumi up`; `pulumi stack history` is the audit trail.
import * as pulumi from "@pulumi/pulumi";
import { COLORS, ConfigError, loadConfig, previousVersionOf, retainedList, targetSchema, type Color } from "./config";
import { AppColor } from "./components/appColor";
import { AppImages } from "./components/appImages";
import { Database } from "./components/database";
import { LoadBalancer } from "./components/loadBalancer";
import { colorAddress, namesFor } from "./names";
import { guards, keepsRootLogin } from "./observe";
import { buildFrom } from "./docker/context";
import { engineHostName } from "./docker/engine";
import { parseRef, registryOf } from "./docker/ref";
import { DockerImage } from "./providers/dockerImage";
import { loadMigrations, MigrationFileError } from "./migrations/load";
import { fromRoot } from "./paths";
import { appLogin, DB_PORT } from "./components/database";
import { DockerNetwork } from "./providers/dockerNetwork";
import { Migrations } from "./providers/migrations";
import { DockerVolume } from "./providers/dockerVolume";
import { Preflight } from "./providers/preflight";
import { DestroyGuard } from "./providers/destroyGuard";
import { Release } from "./providers/release";
import { storageOf } from "./stackFile";
import { tlsMaterial } from "./tls";
import { readFileSync } from "node:fs";
import { weightsOf } from "./render/nginx";

const cfg = loadConfig();
const names = namesFor(cfg);
// The host users reach: said by loadBalancer.hostname, else the bound address (the remote Docker host's name when
// it binds every address).
const publicHost = cfg.loadBalancer.hostname
    ?? (cfg.loadBalancer.bindAddress === "0.0.0.0" ? (engineHostName(cfg.docker) ?? "127.0.0.1") : cfg.loadBalancer.bindAddress);
// The certificate and key are checked here, before any resource, so a bad one changes nothing.
const tls = (() => {
    const t = cfg.loadBalancer.tls;
    if (!t) return undefined;
    const { material, problems } = tlsMaterial(t, { readFile: (f) => readFileSync(f, "utf8"), now: new Date(), host: publicHost });
    if (!material) throw new pulumi.RunError(new ConfigError(problems, cfg.stack).message);
    return { material, port: t.port, hstsMaxAgeSec: t.hstsMaxAgeSec };
})();
const preflight = new Preflight("preflight", {
    docker: cfg.docker,
    ports: [
        { container: names.of("lb"), hostIp: cfg.loadBalancer.bindAddress, port: cfg.loadBalancer.port, configKey: "loadBalancer.port" },
        ...(tls ? [{ container: names.of("lb"), hostIp: cfg.loadBalancer.bindAddress, port: tls.port, configKey: "loadBalancer.tls.port" }] : []),
        ...(cfg.database.hostPort ? [{ container: names.of("db"), hostIp: "127.0.0.1", port: cfg.database.hostPort, configKey: "database.hostPort" }] : []),
    ],
    cpus: (["app", "database", "loadBalancer"] as const).map((section) => ({ cpus: cfg[section].limits.cpus, configKey: `${section}.limits.cpus` })),
});
// Every Docker resource gets its connection from the preflight, so none is touched when a check fails.
const docker = preflight.docker;
// What serves users now, read once from the engine: every container that serves is guarded by it (issue #12).
// NOTESHUB_ALLOW_OUTAGE=1 is the operator saying, for one command, that dropped requests are accepted.
const { guardOf, serving } = guards(cfg.docker, { balancer: names.of("lb"), owner: names.owner }, [names.of("lb"), names.of("db"), ...COLORS.flatMap((c) => [names.of(c), colorAddress(names, c)])], process.env.NOTESHUB_ALLOW_OUTAGE === "1");
const colourGuard = (color: Color) => (container: string) => guardOf(container, color, `colour ${color}`);

const network = new DockerNetwork("network", { docker, name: names.of("net"), labels: names.labels });
const uploads = new DockerVolume("uploads", { docker, name: names.of("uploads"), labels: { ...names.labels, "io.noteshub.data": "uploads" } });
/** The registry login for an image of `ref`, when it lives in app.repository's registry (never sent anywhere else). */
const authFor = (ref: string) => {
    const server = registryOf(parseRef(ref).repo);
    return cfg.registry && server && server === registryOf(cfg.app.repository)
        ? pulumi.secret({ serveraddress: server, username: cfg.registry.username, password: cfg.registry.password })
        : undefined;
};
const database = new Database("database", { docker, names, network: network.name, settings: cfg.database, guard: (c) => guardOf(c, "*", "the database"), auth: authFor(cfg.database.image) });
const migrationFiles = (() => {
    try {
        return loadMigrations(fromRoot("migrations"));
    } catch (err) {
        if (err instanceof MigrationFileError) throw new pulumi.RunError(`${err.message}. Nothing was changed.`);
        throw err;
    }
})();
const target = targetSchema(cfg);
const newest = migrationFiles.at(-1)?.seq ?? 0;
if (target > newest) {
    throw new pulumi.RunError(`noteshub:schema: the running versions need migration ${String(target).padStart(3, "0")}, but migrations/ goes up to ${String(newest).padStart(3, "0")}; add it or fix noteshub:schema. Nothing was changed.`);
}
// Runs before the colours start, so a version never starts on a schema older than it needs.
const migrations = new Migrations("migrations", {
    docker,
    dbContainerId: database.containerId,
    login: pulumi.secret({ username: cfg.database.username, password: cfg.database.password, database: cfg.database.name, port: DB_PORT }),
    migrations: migrationFiles,
    target,
    stack: names.prefix,
    adopt: cfg.database.adopt,
    where: `database ${cfg.database.name} in ${cfg.database.image} on ${cfg.docker.host}`,
    appUser: pulumi.secret(appLogin(cfg.database, names.prefix)),
});
const images = new AppImages("app-images", {
    docker, names,
    repository: cfg.app.repository,
    versions: retainedList(cfg),
    buildContext: cfg.app.build,
    digests: cfg.app.digests,
    auth: authFor(cfg.app.repository),
});
// The holders of the stack's addresses (the balancer's port, each colour's address). Pinned under a fixed tag:
// holders never change with a balancer image or a version, so nothing that serves is replaced for them.
const holderImage = new DockerImage("holder-image", {
    docker,
    name: `${names.image("holder")}:1`,
    build: buildFrom("images/holder"),
    removeOnDelete: true,
    purpose: "the address holders",
});
const holder = { ref: `${names.image("holder")}:1`, imageId: holderImage.imageId };

// The balancer's holder first: the gates probe from it.
const lb = new LoadBalancer("lb", {
    docker, names,
    network: network.name,
    holderImage: holder,
    port: cfg.loadBalancer.port,
    bindAddress: cfg.loadBalancer.bindAddress,
    publicHost,
    tls,
    drainSec: cfg.loadBalancer.drainSec,
    migrateAcceptQueue: cfg.loadBalancer.migrateAcceptQueue,
    limits: cfg.loadBalancer.limits,
    guard: (c) => guardOf(c, "*", "the balancer's port holder"),
});

// The app's own login for every new container; a colour that runs with the root login (made before the app had its
// own) keeps it while its container stays as it is, so upgrading never replaces what serves: it moves to the app's
// login with its next version.
const mongoUriFor = (color: Color, imageId: pulumi.Input<string>) =>
    pulumi.all([guardOf(names.of(color), color, `colour ${color}`), database.uri, database.appUri, imageId]).apply(([g, root, app, id]) =>
        keepsRootLogin(g.running, root, id) ? root : app);

const colors = Object.fromEntries(COLORS.map((color) => {
    const version = cfg[`${color}Version`];
    return [color, new AppColor(color, {
        docker, names, color, version,
        previousVersion: previousVersionOf(cfg, version),
        image: images.byVersion[version],
        addressImage: holder,
        guard: colourGuard(color),
        drainSec: cfg.app.drainSec,
        network: network.name,
        uploadsVolume: uploads.name,
        mongoUri: mongoUriFor(color, images.byVersion[version].imageId),
        port: cfg.app.port,
        user: cfg.app.user,
        env: { ...cfg.app.env, ...cfg.app.envByVersion[version] },
        retired: cfg.retired === color,
        limits: cfg.app.limits,
    }, { dependsOn: [migrations] })];
})) as Record<Color, AppColor>;

const backend = (c: AppColor) => ({
    host: c.host, port: c.port, version: c.version, containerId: c.containerId, imageId: images.byVersion[c.version].imageId,
    addressId: c.addressId, appContainer: c.appContainer,
});
lb.route({
    active: cfg.activeColor,
    traffic: cfg.traffic,
    backends: { blue: backend(colors.blue), green: backend(colors.green) },
    gate: cfg.healthGate,
    maintenance: cfg.maintenance,
    previewToken: cfg.loadBalancer.previewToken,
    retired: cfg.retired,
});

// The declared release in plain values: the policy pack (policy/) judges it at preview; it is recorded last, so the
// state holds it only once everything it declares runs.
const release = new Release("release", {
    stack: cfg.stack,
    environment: cfg.environment,
    activeColor: cfg.activeColor,
    versions: { blue: cfg.blueVersion, green: cfg.greenVersion },
    retainedVersions: cfg.retainedVersions,
    schema: cfg.schema,
    traffic: cfg.traffic,
    databasePassword: storageOf(cfg.stack, `${cfg.project}:database`, ["password"]),
}, { dependsOn: [lb] });

// Deleted first by a `pulumi destroy` (it depends on everything that runs): refuses while any colour serves. It also
// lists what serves now, so the policy pack refuses an update that would delete one of them.
new DestroyGuard("destroy-guard", { docker, balancer: names.of("lb"), stack: cfg.stack, owner: names.owner, serving }, { dependsOn: [release, lb, colors.blue, colors.green, database, migrations, images] });

export const url = lb.url;
/** When the balancer's certificate expires (loadBalancer.tls); null without TLS (an undefined output warns on every up). */
export const certificateExpires = tls?.material.expires ?? null;
export const liveColor = cfg.activeColor;
/** Maintenance mode (noteshub maintenance on): what users are told, or null when the colours serve them. */
export const maintenance = cfg.maintenance ?? null;
/** Percent of requests each colour gets. */
export const traffic = weightsOf(cfg.activeColor, cfg.traffic);
export const liveVersion = cfg[`${cfg.activeColor}Version`];
/** The idle colour stopped by noteshub retire, or null. */
export const retired = cfg.retired ?? null;
export const versions = { blue: cfg.blueVersion, green: cfg.greenVersion };
export const retainedVersions = cfg.retainedVersions;
/** From the Docker host, when database.hostPort publishes it (staging); secret. */
export const databaseUri = database.hostUri ?? "not published (database.hostPort unset): reachable only on the stack network";
export const schema = migrations.schema;
/** What this update runs (or, in preview, would run): e.g. ["down 002_add_indexes"]. */
export const migrationPlan = migrations.plan;
export const migrationsRan = migrations.ran;
export const dataVolumes = { database: database.dataVolume, uploads: uploads.name };
