// A valid staging-like raw config (Pulumi's `namespace:key` -> string map) for tests to bend.
export function rawConfig(overrides: Record<string, unknown> = {}): Record<string, string> {
    const base: Record<string, unknown> = {
        environment: "staging",
        activeColor: "blue",
        blueVersion: "v1.0.0",
        greenVersion: "v1.0.1",
        retainedVersions: { current: "v1.0.1", previous: "v1.0.0", archived: "v0.9.0" },
        app: { repository: "noteshub-api", build: "examples/noteshub-api" },
        loadBalancer: { port: 8080 },
        database: { image: "noteshub-ferretdb:v1.24.2", build: "images/ferretdb", hostPort: 27018, password: "a-long-staging-password" },
        ...overrides,
    };
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) {
        if (v === undefined) continue;
        raw[`noteshub:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return raw;
}
