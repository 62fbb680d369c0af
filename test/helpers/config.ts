// The staging-shaped stack config the tests bend: as plain values (for test stacks, whose ports and secrets are
// their own) and as Pulumi's raw `namespace:key` -> string map (for the parser and the mocks).

/** What runs where, the same in every shape: blue live on v1.0.0, green on v1.0.1, three retained versions. */
const VERSIONS = {
    activeColor: "blue",
    blueVersion: "v1.0.0",
    greenVersion: "v1.0.1",
    retainedVersions: { current: "v1.0.1", previous: "v1.0.0", archived: "v0.9.0" },
    schema: { "v1.0.1": 2, "v1.0.0": 1, "v0.9.0": 0 },
};

/** Staging's settings without ports or secrets. */
export function stagingValues(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        environment: "staging",
        ...VERSIONS,
        app: { repository: "noteshub-api", build: "examples/noteshub-api" },
        database: { image: "noteshub-ferretdb:v1.24.2", build: "images/ferretdb" },
        ...overrides,
    };
}

export function rawConfig(overrides: Record<string, unknown> = {}): Record<string, string> {
    const base = stagingValues({
        loadBalancer: { port: 8080 },
        database: { image: "noteshub-ferretdb:v1.24.2", build: "images/ferretdb", hostPort: 27018, password: "a-long-staging-password" },
        ...overrides,
    });
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) {
        if (v === undefined) continue;
        raw[`noteshub:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return raw;
}

/** A digest that looks like a registry's (production pins every image by one). */
export const fakeDigest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/**
 * Production's settings that pass every production rule (issue #14): images from a registry pinned by digest, no
 * builds, no published database port. Hosts are test-net addresses, never a real registry's name.
 */
export function productionValues(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        environment: "production",
        ...VERSIONS,
        app: { repository: "192.0.2.10:5000/noteshub/noteshub-api", digests: { "v1.0.1": fakeDigest(1), "v1.0.0": fakeDigest(2), "v0.9.0": fakeDigest(3) } },
        loadBalancer: { port: 80, bindAddress: "0.0.0.0" },
        database: { image: `mongo:7.0@${fakeDigest(4)}`, password: "prod-password-long" },
        docker: { host: "ssh://deploy@192.0.2.20" },
        ...overrides,
    };
}

/** productionValues as Pulumi's raw config map. */
export function rawProduction(overrides: Record<string, unknown> = {}): Record<string, string> {
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(productionValues(overrides))) {
        if (v === undefined) continue;
        raw[`noteshub:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return raw;
}
