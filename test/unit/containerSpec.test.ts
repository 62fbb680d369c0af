import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { containerCreateOptions, limitsConfig } from "../../infra/render/containerSpec";

describe("containerCreateOptions", () => {
    it("maps a spec to the exact Engine API body: created from the pinned image id, never from the tag", () => {
        const body = containerCreateOptions({
            name: "noteshub-staging-blue",
            image: "noteshub-api:v1.0.0",
            imageId: "sha256:abc",
            env: { PORT: "8000", APP_VERSION: "1.0.0" },
            network: "noteshub-staging-net",
            aliases: ["blue"],
            ports: [{ container: 8080, host: 18080, hostIp: "127.0.0.1" }],
            mounts: [{ volume: "noteshub-staging-uploads", target: "/app/uploads" }],
            labels: { "io.noteshub.stack": "staging" },
            securityOpt: ["no-new-privileges:true"],
            capDrop: ["ALL"],
            capAdd: [],
            user: "10001",
            healthcheck: { test: ["CMD", "true"], intervalMs: 1000, timeoutMs: 2000, retries: 3, startPeriodMs: 0 },
            stopTimeoutSec: 15,
            sysctls: { "net.ipv4.tcp_migrate_req": "1" },
        });
        assert.deepEqual(body, {
            name: "noteshub-staging-blue",
            Image: "sha256:abc",
            Env: ["APP_VERSION=1.0.0", "PORT=8000"],
            Labels: { "io.noteshub.stack": "staging" },
            ExposedPorts: { "8080/tcp": {} },
            StopTimeout: 15,
            User: "10001",
            HostConfig: {
                NetworkMode: "noteshub-staging-net",
                PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "18080" }] },
                Mounts: [{ Type: "volume", Source: "noteshub-staging-uploads", Target: "/app/uploads", ReadOnly: false }],
                RestartPolicy: { Name: "unless-stopped" },
                SecurityOpt: ["no-new-privileges:true"],
                CapDrop: ["ALL"],
                CapAdd: [],
                Privileged: false,
                Init: true,
                Sysctls: { "net.ipv4.tcp_migrate_req": "1" },
            },
            NetworkingConfig: { EndpointsConfig: { "noteshub-staging-net": { Aliases: ["blue"] } } },
            Healthcheck: { Test: ["CMD", "true"], Interval: 1e9, Timeout: 2e9, Retries: 3, StartPeriod: 0 },
        });
    });

    it("joins another container's network namespace without attaching or publishing anything", () => {
        const spec = {
            name: "noteshub-staging-blue", image: "noteshub-api:v1.0.0", imageId: "sha256:abc", env: {},
            network: "container:0123abcd", aliases: [], ports: [], mounts: [], labels: {},
            securityOpt: [], capDrop: ["ALL"], capAdd: [], stopTimeoutSec: 15,
        };
        assert.deepEqual(containerCreateOptions(spec), {
            name: "noteshub-staging-blue",
            Image: "sha256:abc",
            Env: [],
            Labels: {},
            StopTimeout: 15,
            HostConfig: {
                NetworkMode: "container:0123abcd",
                Mounts: [],
                RestartPolicy: { Name: "unless-stopped" },
                SecurityOpt: [],
                CapDrop: ["ALL"],
                CapAdd: [],
                Privileged: false,
                Init: true,
            },
        });
        assert.throws(() => containerCreateOptions({ ...spec, ports: [{ container: 1, host: 2, hostIp: "127.0.0.1" }] }), /can't publish ports or take aliases/);
    });

    it("limits memory (no swap beyond it), CPU time and processes; a read-only root gets a scratch tmpfs per path", () => {
        const spec = {
            name: "noteshub-staging-blue", image: "noteshub-api:v1.0.0", imageId: "sha256:abc", env: {},
            network: "container:0123abcd", aliases: [], ports: [], mounts: [], labels: {},
            securityOpt: [], capDrop: ["ALL"], capAdd: [], stopTimeoutSec: 15,
            limits: { memoryMb: 512, cpus: 1.5, pids: 256 }, readOnlyRoot: { tmpfs: ["/tmp"] },
        };
        const host = containerCreateOptions(spec).HostConfig!;
        assert.deepEqual([host.Memory, host.MemorySwap, host.NanoCpus, host.PidsLimit], [536_870_912, 536_870_912, 1_500_000_000, 256]);
        assert.deepEqual([host.ReadonlyRootfs, host.Tmpfs], [true, { "/tmp": "rw,nosuid,nodev,noexec,size=64m" }]);
        assert.deepEqual(limitsConfig(spec.limits), { Memory: 536_870_912, MemorySwap: 536_870_912, NanoCpus: 1_500_000_000, PidsLimit: 256 }, "the same fields docker update takes");
    });
});
