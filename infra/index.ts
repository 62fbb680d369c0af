// NotesHub blue-green on one Docker engine: network, data volumes, database, three retained app images,
// blue and green containers, and the NGINX balancer routing to `activeColor`. A rollback is a config change
// (`activeColor`, `<color>Version`) and `pulumi up`; `pulumi stack history` is the audit trail.
import { COLORS, loadConfig, previousVersionOf, retainedList, type Color } from "./config";
import { AppColor } from "./components/appColor";
import { AppImages } from "./components/appImages";
import { Database } from "./components/database";
import { LoadBalancer } from "./components/loadBalancer";
import { namesFor } from "./names";
import { DockerNetwork } from "./providers/dockerNetwork";
import { DockerVolume } from "./providers/dockerVolume";
import { Preflight } from "./providers/preflight";

const cfg = loadConfig();
const names = namesFor(cfg);
const preflight = new Preflight("preflight", {
    docker: cfg.docker,
    ports: [
        { container: names.of("lb"), hostIp: cfg.loadBalancer.bindAddress, port: cfg.loadBalancer.port, configKey: "loadBalancer.port" },
        ...(cfg.database.hostPort ? [{ container: names.of("db"), hostIp: "127.0.0.1", port: cfg.database.hostPort, configKey: "database.hostPort" }] : []),
    ],
});
// Every Docker resource gets its connection from the preflight, so none is touched when a check fails.
const docker = preflight.docker;

const network = new DockerNetwork("network", { docker, name: names.of("net"), labels: names.labels });
const uploads = new DockerVolume("uploads", { docker, name: names.of("uploads"), labels: { ...names.labels, "io.noteshub.data": "uploads" } });
const database = new Database("database", { docker, names, network: network.name, settings: cfg.database });
const images = new AppImages("app-images", {
    docker,
    repository: cfg.app.repository,
    versions: retainedList(cfg),
    buildContext: cfg.app.build,
});

const colors = Object.fromEntries(COLORS.map((color) => {
    const version = cfg[`${color}Version`];
    return [color, new AppColor(color, {
        docker, names, color, version,
        previousVersion: previousVersionOf(cfg, version),
        image: images.byVersion[version],
        network: network.name,
        uploadsVolume: uploads.name,
        mongoUri: database.uri,
        port: cfg.app.port,
        env: { ...cfg.app.env, ...cfg.app.envByVersion[version] },
    })];
})) as Record<Color, AppColor>;

const backend = (c: AppColor) => ({ host: c.host, port: c.port, version: c.version, containerId: c.containerId, imageId: images.byVersion[c.version].imageId });
const lb = new LoadBalancer("lb", {
    docker, names,
    network: network.name,
    port: cfg.loadBalancer.port,
    bindAddress: cfg.loadBalancer.bindAddress,
    active: cfg.activeColor,
    backends: { blue: backend(colors.blue), green: backend(colors.green) },
    gate: cfg.healthGate,
});

export const url = lb.url;
export const liveColor = cfg.activeColor;
export const liveVersion = cfg[`${cfg.activeColor}Version`];
export const versions = { blue: cfg.blueVersion, green: cfg.greenVersion };
export const retainedVersions = cfg.retainedVersions;
/** From the Docker host, when database.hostPort publishes it (staging); secret. */
export const databaseUri = database.hostUri ?? "not published (database.hostPort unset): reachable only on the stack network";
export const dataVolumes = { database: database.dataVolume, uploads: uploads.name };
