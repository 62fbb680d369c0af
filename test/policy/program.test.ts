// The program as declared (under Pulumi mocks) against the pack: staging and production pass; a production database
// with a published port does not. The real engine runs the whole pack on every e2e `up` (test/helpers/stack.ts) and
// in test/e2e/policy.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { policies } from "../../policy/policies";
import { trafficIsGated } from "../../policy/traffic";
import { productionValues } from "../helpers/config";
import { runProgram, type Recorded } from "../helpers/mocks";
import { resource, stackViolationsOf, violationsOf } from "./run";

/** Every violation of every policy; mocks carry no dependencies, so the gating policy is left to the real engine. */
function judge(resources: Recorded[]): string[] {
    // A container declares its own URN (the policy that keeps serving containers compares it); others get a made-up one.
    const like = resources.map((r) => resource(r.inputs, { name: r.name, ...(typeof r.inputs.resourceUrn === "string" ? { urn: r.inputs.resourceUrn } : {}) }));
    const out: string[] = [];
    for (const p of policies) {
        if (p === trafficIsGated) continue;
        if ("validateResource" in p) for (const r of like) out.push(...violationsOf(p as ResourceValidationPolicy, r.props, {}, r.name).map((m) => `${p.name}: ${m}`));
        else out.push(...stackViolationsOf(p as StackValidationPolicy, like).map((m) => `${p.name}: ${m}`));
    }
    return out;
}

const production = productionValues({ loadBalancer: { port: 8080 }, docker: { host: "unix:///var/run/docker.sock" } });

describe("the program against the policy pack (mocks)", () => {
    it("staging passes every policy, and declares what they read", async () => {
        const { resources } = await runProgram();
        assert.deepEqual(judge(resources), []);
        const release = resources.find((r) => r.inputs.kind === "Release")!;
        assert.equal(release.inputs.databasePassword, "secret", "Pulumi.staging.yaml holds the password as secure:");
        const migrations = resources.find((r) => r.inputs.kind === "Migrations")!;
        assert.deepEqual(migrations.inputs.descriptors.map((d: { id: string; down: { file: string } }) => [d.id, d.down.file]),
            [["001_add_email_verification", "001_add_email_verification.down.json"], ["002_add_indexes", "002_add_indexes.down.json"]]);
        assert.deepEqual(resources.find((r) => r.inputs.kind === "TrafficState")!.inputs.weights, { blue: 100, green: 0 });
    });

    it("production passes; its database edited to publish a port is blocked", async () => {
        const { resources } = await runProgram(production, "production");
        assert.deepEqual(judge(resources), []);
        // Config already refuses database.hostPort in production; the pack also catches a program that publishes it.
        const db = resources.find((r) => r.inputs.name === "noteshub-production-db")!;
        db.inputs.ports = [{ container: 27017, host: 27018, hostIp: "127.0.0.1" }];
        const exposed = judge(resources);
        assert.equal(exposed.length, 1);
        assert.match(exposed[0], /^database-not-exposed: database container noteshub-production-db \(production stack production\) publishes port 27017/);
    });

    it("a serving container whose resource the program no longer declares is blocked (the program's engine read lists it)", async () => {
        const urn = "urn:pulumi:staging::noteshub::noteshub:app:Color$pulumi-nodejs:dynamic/docker:Container::blue-container";
        const running = (u: string) => [{ name: "noteshub-staging-blue", labels: { "io.noteshub.role": "app", "io.noteshub.color": "blue", "io.noteshub.urn": u, "io.noteshub.resource": "blue-container" } }];
        const kept = await runProgram({}, "staging", { weights: { blue: 100, green: 0 }, running: running(urn) });
        assert.deepEqual(judge(kept.resources), []);
        const moved = await runProgram({}, "staging", { weights: { blue: 100, green: 0 }, running: running(urn.replace("blue-container", "blue-old")) });
        const v = judge(moved.resources);
        assert.equal(v.length, 1);
        assert.match(v[0], /^serving-containers-kept: container noteshub-staging-blue: colour blue has 100 % of traffic, and this update would delete it/);
        const idle = await runProgram({ activeColor: "green" }, "staging", { weights: { blue: 100, green: 0 }, running: running(urn.replace("blue-container", "blue-old")) });
        assert.deepEqual(judge(idle.resources), [], "a colour this update takes the traffic from may go (deletes run last)");
    });
});
