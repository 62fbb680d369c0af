// The staging-shaped stack config the tests bend: as plain values (for test stacks, whose ports and secrets are
// their own) and as Pulumi's raw `namespace:key` -> string map (for the parser and the mocks).

/** Staging's settings without ports or secrets. */
export function stagingValues(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        environment: "staging",
        activeColor: "blue",
        blueVersion: "v1.0.0",
        greenVersion: "v1.0.1",
        retainedVersions: { current: "v1.0.1", previous: "v1.0.0", archived: "v0.9.0" },
        schema: { "v1.0.1": 2, "v1.0.0": 1, "v0.9.0": 0 },
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
