// database-not-exposed and containers-hardened.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { containersHardened } from "../../policy/containers";
import { databaseNotExposed, isProduction, DATABASE_DEFAULTS } from "../../policy/database";
import { resource, stackViolationsOf, violationsOf } from "./run";

const release = (stack: string, databasePassword = "secret") => resource({ kind: "Release", stack, databasePassword });
const db = (o: Record<string, unknown> = {}) => resource({
    name: "noteshub-production-db", image: "mongo:7.0", labels: { "io.noteshub.role": "database" }, ports: [],
    env: { MONGO_INITDB_ROOT_USERNAME: "noteshub", MONGO_INITDB_ROOT_PASSWORD: "pw" }, ...o,
});

describe("policy database-not-exposed", () => {
    it("passes a production database with no port, auth on and a secret password; ignores staging's published port", () => {
        assert.deepEqual(stackViolationsOf(databaseNotExposed, [release("production"), db()]), []);
        const published = db({ ports: [{ container: 27017, host: 27018, hostIp: "127.0.0.1" }] });
        assert.deepEqual(stackViolationsOf(databaseNotExposed, [release("staging", "plaintext"), published]), []);
    });

    it("blocks a published port, missing auth and a plaintext password in production", () => {
        const v = stackViolationsOf(databaseNotExposed, [release("production", "plaintext"), db({ ports: [{ container: 27017, host: 27018, hostIp: "127.0.0.1" }], env: {} })]);
        assert.deepEqual(v, [
            "database container noteshub-production-db (production stack production) publishes port 27017 on host 127.0.0.1:27018. Fix: pulumi config rm --path database.hostPort (the apps reach it on the stack network, migrations through docker exec).",
            "database container noteshub-production-db (production stack production) starts without authentication (no MONGO_INITDB_ROOT_USERNAME/PASSWORD). Fix: set database.username and, as a secret, database.password.",
            "noteshub:database.password is plaintext in Pulumi.production.yaml (production stack production). Fix: pulumi config set --secret --path database.password <password> --stack production.",
        ]);
    });

    it("counts as production the stacks the pack's config names", () => {
        assert.ok(isProduction("prod-eu", DATABASE_DEFAULTS));
        assert.ok(!isProduction("staging", DATABASE_DEFAULTS));
        const v = stackViolationsOf(databaseNotExposed, [release("live", "plaintext"), db()], { productionStacks: ["live"] });
        assert.equal(v.length, 1);
    });
});

describe("policy containers-hardened", () => {
    const app = (o: Record<string, unknown> = {}) => ({
        name: "noteshub-staging-blue", image: "noteshub-api:v1.0.0", labels: { "io.noteshub.role": "app" }, user: "noteshub",
        securityOpt: ["no-new-privileges:true"], capDrop: ["ALL"], capAdd: [], ...o,
    });

    it("passes a non-root app with no-new-privileges and no capabilities, and a database without a user", () => {
        assert.deepEqual(violationsOf(containersHardened, app()), []);
        assert.deepEqual(violationsOf(containersHardened, app({ labels: { "io.noteshub.role": "load-balancer" }, user: "www-data" })), []);
        assert.deepEqual(violationsOf(containersHardened, { ...db().props }), []);
    });

    it("blocks privileged, root, missing no-new-privileges, kept and added capabilities", () => {
        const v = violationsOf(containersHardened, app({ privileged: true, user: "0:0", securityOpt: [], capDrop: [], capAdd: ["NET_ADMIN"] }));
        assert.equal(v.length, 5);
        assert.match(v[0], /container noteshub-staging-blue \(app\) is privileged/);
        assert.match(v[1], /runs as "0:0"/);
        assert.match(v[2], /lacks securityOpt no-new-privileges/);
        assert.match(v[3], /keeps Linux capabilities/);
        assert.match(v[4], /adds capabilities NET_ADMIN/);
        assert.match(violationsOf(containersHardened, app({ user: undefined })).join(), /runs as the image's default user/);
        for (const user of ["00", "+0", "noteshub:0", "noteshub:root"]) assert.ok(violationsOf(containersHardened, app({ user })).join().includes(`runs as "${user}"`), user);
        assert.deepEqual(violationsOf(containersHardened, app({ user: "1000:1000" })), []);
        assert.match(violationsOf(containersHardened, { ...db({ privileged: true }).props }).join(), /\(database\) is privileged/);
    });
});
