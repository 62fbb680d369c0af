import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfig, previousVersionOf, retainedList } from "../../infra/config";
import { fakeDigest, rawConfig, rawProduction } from "../helpers/config";
import type { ProductionFacts } from "../../infra/production";

function prodProblems(overrides: Record<string, unknown>, facts: ProductionFacts = {}, stack = "production"): string[] {
    try {
        parseConfig(rawProduction(overrides), stack, "noteshub", facts);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        return err.problems;
    }
    return [];
}

function problems(overrides: Record<string, unknown>, stack = "staging"): string[] {
    try {
        parseConfig(rawConfig(overrides), stack);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        return err.problems;
    }
    assert.fail("config was accepted");
}

describe("parseConfig", () => {
    it("accepts the staging config and fills defaults", () => {
        const cfg = parseConfig(rawConfig(), "staging");
        assert.equal(cfg.activeColor, "blue");
        assert.equal(cfg.stack, "staging");
        assert.equal(cfg.app.port, 8000);
        assert.deepEqual(cfg.app.env, {});
        assert.equal(cfg.loadBalancer.bindAddress, "127.0.0.1");
        assert.equal(cfg.docker.host, "unix:///var/run/docker.sock");
        assert.equal(cfg.database.name, "noteshub");
        assert.deepEqual(retainedList(cfg), ["v1.0.1", "v1.0.0", "v0.9.0"]);
        assert.equal(cfg.traffic, 100, "all traffic to the active colour unless a shift is declared");
        assert.equal(cfg.app.user, "noteshub");
    });

    it("takes a traffic share 0-100 (as `pulumi config set traffic 25` stores it) and names a bad one", () => {
        assert.equal(parseConfig({ ...rawConfig(), "noteshub:traffic": "25" }, "staging").traffic, 25);
        assert.deepEqual(problems({ traffic: 150 }), [`noteshub:traffic: must be 0-100; fix: pulumi config set --path 'traffic' '25'`]);
        for (const user of ["root", "0", "00", "+0", "noteshub:0", "0:1000", "root:noteshub", "1000:root"]) {
            assert.deepEqual(problems({ app: { user } }), [`noteshub:app.user: must not be root or the root group (containers run unprivileged); fix: pulumi config set --path 'app.user' '<value>'`], user);
        }
        assert.deepEqual(problems({ app: { user: "a:b:c" } }), [`noteshub:app.user: must be "user" or "user:group", each a name or a number; fix: pulumi config set --path 'app.user' '<value>'`]);
        for (const user of ["noteshub", "1000", "1000:1000", "www-data:www-data"]) assert.equal(parseConfig(rawConfig({ app: { user } }), "staging").app.user, user);
    });

    it("takes maintenance mode as noteshub maintenance writes it (one JSON value) or by path, and names a bad one", () => {
        const on = parseConfig({ ...rawConfig(), "noteshub:maintenance": '{"message":"Back at 03:30 UTC"}' }, "staging");
        assert.deepEqual(on.maintenance, { message: "Back at 03:30 UTC", retryAfterSec: 300 });
        assert.equal(parseConfig(rawConfig(), "staging").maintenance, undefined);
        // `pulumi config set --path maintenance.message 42` stores a number: it is the text users read.
        assert.deepEqual(parseConfig(rawConfig({ maintenance: { message: 42, retryAfterSec: 60 } }), "staging").maintenance, { message: "42", retryAfterSec: 60 });
        assert.deepEqual(problems({ maintenance: { message: "  " } }), [`noteshub:maintenance.message: must not be empty; fix: pulumi config set --path 'maintenance.message' '<value>'`]);
        assert.deepEqual(problems({ maintenance: { message: "x", retryAfterSec: 0 } }), [`noteshub:maintenance.retryAfterSec: must be at least 1 second; fix: pulumi config set --path 'maintenance.retryAfterSec' '<value>'`]);
        assert.deepEqual(problems({ maintenance: { retryAfterSec: 5 } }), [`noteshub:maintenance.message: required: the text users read; fix: pulumi config set --path 'maintenance.message' '<value>'`]);
    });

    it("gives every container limits by default, takes a decimal CPU as pulumi config stores it, and names a bad one", () => {
        const cfg = parseConfig(rawConfig(), "staging");
        assert.deepEqual([cfg.app.limits, cfg.database.limits, cfg.loadBalancer.limits], [
            { memoryMb: 512, cpus: 1, pids: 256 }, { memoryMb: 2048, cpus: 1, pids: 512 }, { memoryMb: 256, cpus: 1, pids: 128 },
        ]);
        assert.deepEqual(parseConfig(rawConfig({ app: { limits: { cpus: "0.5", memoryMb: 1024 } } }), "staging").app.limits, { memoryMb: 1024, cpus: 0.5, pids: 256 });
        assert.deepEqual(problems({ app: { limits: { memoryMb: 8 } } }), [`noteshub:app.limits.memoryMb: must be at least 32 MB; fix: pulumi config set --path 'app.limits.memoryMb' '<value>'`]);
        assert.deepEqual(problems({ database: { password: "e2e-password-0123", limits: { cpus: "lots" } } }), [`noteshub:database.limits.cpus: must be a number of CPUs (e.g. 1 or 0.5); fix: pulumi config set --path 'database.limits.cpus' '<value>'`]);
    });

    it("takes a preview token of 32+ header-safe characters", () => {
        const token = "0123456789abcdef0123456789abcdef";
        assert.equal(parseConfig(rawConfig({ loadBalancer: { port: 8080, previewToken: token } }), "staging").loadBalancer.previewToken, token);
        assert.deepEqual(problems({ loadBalancer: { port: 8080, previewToken: "short" } }), [`noteshub:loadBalancer.previewToken: must be at least 32 characters (a random token: openssl rand -hex 16); fix: pulumi config set --secret --path 'loadBalancer.previewToken' '<value>'`]);
        assert.deepEqual(problems({ loadBalancer: { port: 8080, previewToken: "green:0123456789abcdef0123456789abcdef" } }), [`noteshub:loadBalancer.previewToken: must be letters, digits and . _ ~ - (it travels in a header and a cookie); fix: pulumi config set --secret --path 'loadBalancer.previewToken' '<value>'`]);
    });

    it("takes a retired idle colour and retireAfterHours, and refuses a retired colour with a share", () => {
        const cfg = parseConfig(rawConfig({ "retired": "green", "retireAfterHours": "24" }), "staging");
        assert.equal(cfg.retired, "green");
        assert.equal(cfg.retireAfterHours, 24);
        assert.deepEqual(problems({ "retired": "blue" }), ["noteshub:retired: blue is retired (stopped) but gets 100 % of traffic; a colour with a share runs; fix: pulumi config rm retired (noteshub rollback and deploy do that for you)"]);
        assert.match(problems({ "retired": "green", traffic: "90" }).join(), /green is retired \(stopped\) but gets 10 % of traffic/);
        assert.match(problems({ "retired": "red" }).join(), /noteshub:retired: must be "blue" or "green" \(the idle colour\), got "red"/);
        assert.deepEqual(problems({ "retired": "red", traffic: "50" }).filter((p) => p.startsWith("noteshub:retired")), ['noteshub:retired: must be "blue" or "green" (the idle colour), got "red"; fix: pulumi config set --path \'retired\' \'<value>\''], "no second, made-up problem");
        assert.match(problems({ "retireAfterHours": "0" }).join(), /noteshub:retireAfterHours: must be more than 0 hours/);
        // `pulumi config set retireAfterHours 1.5` stores a string: a decimal is a number of hours like a whole one.
        assert.equal(parseConfig(rawConfig({ "retireAfterHours": "1.5" }), "staging").retireAfterHours, 1.5);
        assert.match(problems({ "retireAfterHours": "1.5h" }).join(), /noteshub:retireAfterHours: must be a number of hours \(e\.g\. 24\)/);
        assert.match(problems({ traffic: "25.5" }).join(), /noteshub:traffic: must be a percentage 0-100/);
        // The same for a percentage set with --path (stored as {"errorRate": "0.5"}).
        assert.equal(parseConfig(rawConfig({ monitoring: { warning: { errorRate: "0.5" } } }), "staging").monitoring.warning.errorRate, 0.5);
        assert.doesNotThrow(() => parseConfig(rawConfig({ "retired": "blue", activeColor: "green" }), "staging"));
    });

    it("names a bad activeColor with its path, the value and the fix", () => {
        assert.deepEqual(problems({ activeColor: "purple" }), [
            `noteshub:activeColor: must be "blue" or "green", got "purple"; fix: pulumi config set --path 'activeColor' 'blue'`,
        ]);
    });

    it("reports every problem at once", () => {
        const p = problems({ activeColor: "purple", blueVersion: "1.2", retainedVersions: { current: "v1.0.1", previous: "v1.0.0" } });
        assert.equal(p.length, 3, p.join("\n"));
        assert.match(p[0], /^noteshub:activeColor: /);
        assert.match(p[1], /^noteshub:blueVersion: must look like vX\.Y\.Z \(e\.g\. v1\.2\.3\), got "1\.2"/);
        assert.match(p[2], /^noteshub:retainedVersions\.archived: required: a version like v1\.2\.3/);
    });

    it("runs the cross-field rules even when another field fails the schema", () => {
        const p = problems({ activeColor: "purple", greenVersion: "v2.0.0", loadBalancer: { port: 27018 } });
        assert.equal(p.length, 3, p.join("\n"));
        assert.match(p[0], /^noteshub:activeColor: /);
        assert.match(p[1], /^noteshub:greenVersion: v2\.0\.0 is not one of the retained versions/);
        assert.match(p[2], /^noteshub:database\.hostPort: 27018 is also loadBalancer\.port/);
    });

    it("rejects retained versions that are not unique", () => {
        const p = problems({ retainedVersions: { current: "v1.0.1", previous: "v1.0.0", archived: "v1.0.0" }, schema: { "v1.0.1": 2, "v1.0.0": 1 } });
        assert.deepEqual(p, [
            "noteshub:retainedVersions: current, previous and archived must be three different versions, got v1.0.1, v1.0.0, v1.0.0; fix: pulumi config set --path 'retainedVersions.archived' <an older version>",
        ]);
    });

    it("requires both colours' versions among the retained ones", () => {
        const p = problems({ greenVersion: "v2.0.0" });
        assert.deepEqual(p, [
            "noteshub:greenVersion: v2.0.0 is not one of the retained versions (v1.0.1, v1.0.0, v0.9.0); fix: pulumi config set greenVersion v1.0.1, or add v2.0.0 to retainedVersions",
        ]);
    });

    it("flags unknown keys with a suggestion", () => {
        const p = problems({ activeColour: "blue" });
        assert.deepEqual(p, ["noteshub:activeColour: unknown setting; did you mean activeColor?; fix: pulumi config rm --path 'activeColour'"]);
        assert.deepEqual(problems({ database: { password: "a-long-staging-password", pasword: "x" } }), [
            "noteshub:database.pasword: unknown setting; fix: pulumi config rm --path 'database.pasword'",
        ]);
    });

    it("requires a database password as a secret of 12+ characters", () => {
        assert.deepEqual(problems({ database: { image: "mongo:7.0" } }), [
            "noteshub:database.password: required; fix: pulumi config set --secret --path 'database.password' '<a long random password>'",
        ]);
        assert.match(problems({ database: { password: "short" } })[0], /^noteshub:database\.password: must be at least 12 characters/);
    });

    it("checks ports", () => {
        assert.match(problems({ loadBalancer: { port: 70000 } })[0], /^noteshub:loadBalancer\.port: must be 1-65535/);
        assert.match(problems({ loadBalancer: { port: 27018 } })[0], /^noteshub:database\.hostPort: 27018 is also loadBalancer\.port/);
    });

    it("refuses a published database port and plain tcp Docker in production", () => {
        const p = prodProblems({ database: { image: `mongo:7.0@${fakeDigest(4)}`, password: "prod-password-long", hostPort: 27018 }, docker: { host: "tcp://10.0.0.5:2375" } });
        assert.deepEqual(p, [
            "noteshub:database.hostPort: production must not publish the database on the host; fix: pulumi config rm --path 'database.hostPort'",
            "noteshub:docker.tlsCertDir: a tcp:// Docker host in production needs TLS; fix: pulumi config set --path 'docker.tlsCertDir' ~/.docker/noteshub",
        ]);
    });

    it("production as the tests declare it passes", () => {
        assert.deepEqual(prodProblems({}), []);
        assert.equal(parseConfig(rawProduction(), "production", "noteshub", { passphrase: "a long random one" }).environment, "production");
    });

    it("production refuses placeholders, builds, unpinned images, weak passphrases and plaintext secrets, each with its fix", () => {
        const p = prodProblems({
            app: { repository: "registry.example.com/noteshub/noteshub-api", build: "examples/noteshub-api", digests: { "v1.0.1": fakeDigest(1) } },
            database: { image: "mongo:7.0", build: "images/ferretdb", password: "prod-password-long" },
            docker: { host: "ssh://deploy@noteshub-prod-1.local" },
        }, { passphrase: "noteshub-staging", plaintextSecrets: ["database.password"] });
        assert.deepEqual(p, [
            "noteshub:docker.host: noteshub-prod-1.local is a placeholder (a name reserved for examples and tests), not a production host; fix: pulumi config set --path 'docker.host' <the real one> (or, if noteshub-prod-1.local is real on your network: pulumi config set --path 'allowHosts[0]' noteshub-prod-1.local)",
            "noteshub:app.repository: registry.example.com is a placeholder (a name reserved for examples and tests), not a production host; fix: pulumi config set --path 'app.repository' <the real one>",
            "stack production: its secrets passphrase is the one staging publishes (noteshub-staging): anyone could read production's secrets; fix: a long random passphrase in a file only the rota reads (PULUMI_CONFIG_PASSPHRASE_FILE), then pulumi stack change-secrets-provider passphrase --stack production",
            "noteshub:database.password: is plaintext in Pulumi.production.yaml; fix: pulumi config set --secret --path 'database.password' <value> --stack production",
            "noteshub:app.build: production pulls released images, it never builds; fix: pulumi config rm --path 'app.build', release each version with npm run noteshub -- release <version> (release.context names the source)",
            "noteshub:database.build: production pulls the database image; fix: pulumi config rm --path 'database.build' and set database.image to the official image pinned by digest",
            "noteshub:database.image: mongo:7.0 is not pinned by digest, so a moved tag would start other bytes; fix: pulumi config set --path 'database.image' 'mongo:7.0@sha256:<digest>' (docker pull it, then docker inspect -f '{{index .RepoDigests 0}}')",
            "noteshub:app.digests.v1.0.0: retained version v1.0.0 has no released digest, so the host would pull whatever the tag points at; fix: npm run noteshub -- release v1.0.0 --stack production (it builds, pushes and records the digest; for a version this stack already runs from the registry, add --adopt to record the digest the Docker host has)",
            "noteshub:app.digests.v0.9.0: retained version v0.9.0 has no released digest, so the host would pull whatever the tag points at; fix: npm run noteshub -- release v0.9.0 --stack production (it builds, pushes and records the digest; for a version this stack already runs from the registry, add --adopt to record the digest the Docker host has)",
        ]);
        assert.match(prodProblems({}, { passphrase: "" })[0], /^stack production: its secrets passphrase is empty: /);
        assert.deepEqual(prodProblems({}, { passphrase: "", passphraseProvider: false }), [], "a stack whose secrets use another provider has no passphrase to judge");
        assert.match(prodProblems({ database: { image: "mongo:7.0@latest", password: "prod-password-long" } })[0], /^noteshub:database\.image: mongo:7\.0@latest is not pinned by digest/);
        assert.match(prodProblems({ docker: { host: "ssh://deploy@prod.EXAMPLE.com." } })[0], /^noteshub:docker\.host: prod\.example\.com is a placeholder/);
        assert.match(prodProblems({ docker: { host: "ssh://deploy@b.local" }, allowHosts: ["a.local"] })[0], /pulumi config set --path 'allowHosts\[1\]' b\.local\)$/);
        assert.deepEqual(prodProblems({ docker: { host: "ssh://deploy@[2001:db8::5]:2222" }, app: { repository: "[2001:db8::6]:5000/n/api", digests: { "v1.0.1": fakeDigest(1), "v1.0.0": fakeDigest(2), "v0.9.0": fakeDigest(3) } } }), [], "IPv6 hosts and registries");
        assert.deepEqual(prodProblems({ docker: { host: "ssh://deploy@noteshub-prod-1.local" }, allowHosts: ["noteshub-prod-1.local"] }), [], "a real .local host, allowed on purpose");
        for (const host of ["prod.example", "x.invalid", "example.org", "db.test"]) assert.equal(prodProblems({ docker: { host: `ssh://deploy@${host}` } }).length, 1, host);
    });

    it("a stack production by name is production, whatever its config says", () => {
        const staging = rawConfig();
        delete staging["noteshub:environment"];
        assert.equal(parseConfig(staging, "staging").environment, "staging");
        // prod-eu: production to the policy pack, so to the program (and the CLI) too: its production rules apply.
        assert.ok(prodProblems({ environment: undefined, app: { repository: "noteshub-api", build: "examples/noteshub-api" } }, {}, "prod-eu").some((p) => p.startsWith("noteshub:app.build:")));
        assert.deepEqual(problems({ environment: "staging" }, "prod-eu").filter((p) => p.startsWith("noteshub:environment")), [
            "noteshub:environment: stack prod-eu is production by its name (the policy pack's productionStacks), so it can't be staging; fix: pulumi config rm environment (or use a stack name that is not production's)",
        ]);
    });

    it("requires the schema of every retained version, and only of those", () => {
        assert.deepEqual(problems({ schema: { "v1.0.1": 2, "v1.0.0": 1, "v2.0.0": 3 } }), [
            `noteshub:schema.v0.9.0: required: the migration retained version v0.9.0 needs (0 for none); fix: pulumi config set --path 'schema["v0.9.0"]' 2`,
            `noteshub:schema.v2.0.0: v2.0.0 is not a retained version; fix: pulumi config rm --path 'schema["v2.0.0"]'`,
        ]);
        assert.match(problems({ schema: { "v1.0.1": "two", "v1.0.0": 1, "v0.9.0": 0 } })[0], /^noteshub:schema\.v1\.0\.1: must be a migration number like 2 \(0 for none\)/);
    });

    it("rejects a malformed docker host and envByVersion for a version not retained", () => {
        assert.match(problems({ docker: { host: "http://x" } })[0], /^noteshub:docker\.host: must start with unix:\/\/, tcp:\/\/, ssh:\/\/ or npipe:\/\//);
        assert.deepEqual(problems({ app: { envByVersion: { "v3.0.0": { NOTESHUB_FAIL_HEALTH: "1" } } } }), [
            "noteshub:app.envByVersion.v3.0.0: v3.0.0 is not a retained version; fix: pulumi config rm --path 'app.envByVersion.v3.0.0'",
        ]);
    });

    it("explains a map given as a string and how to set its keys", () => {
        assert.deepEqual(problems({ app: { envByVersion: '{"v1.0.1":{"A":"1"}}' } }), [
            `noteshub:app.envByVersion: Invalid input: expected record, received string; fix: pulumi config set --path 'app.envByVersion["v1.2.3"].NAME' 'value'`,
        ]);
    });

    it("says which stack and that nothing changed", () => {
        try {
            parseConfig(rawConfig({ activeColor: "red" }), "qa-1");
            assert.fail("accepted");
        } catch (err) {
            assert.match((err as Error).message, /^stack qa-1: 1 config problem, nothing was changed:\n {2}- noteshub:activeColor: /);
        }
    });

    it("ignores other namespaces", () => {
        const raw = { ...rawConfig(), "aws:region": "eu-west-1" };
        assert.equal(parseConfig(raw, "staging").activeColor, "blue");
    });

    it("gives each version the retained one before it as PREVIOUS_VERSION", () => {
        const cfg = parseConfig(rawConfig(), "staging");
        assert.equal(previousVersionOf(cfg, "v1.0.1"), "v1.0.0");
        assert.equal(previousVersionOf(cfg, "v1.0.0"), "v0.9.0");
        assert.equal(previousVersionOf(cfg, "v0.9.0"), "");
    });
});
