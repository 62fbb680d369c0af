// traffic-is-gated: the routes must wait for the gate of every colour that gets a share.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { trafficIsGated } from "../../policy/traffic";
import { resource, stackViolationsOf } from "./run";

const gate = (color: string, live = true) => resource({ kind: "HealthGate", color, version: "v1.0.0", live }, { name: `lb-gate-${color}` });

describe("policy traffic-is-gated", () => {
    it("passes when the routes depend on the live colour's gate", () => {
        const blue = gate("blue");
        const routes = resource({ kind: "Routes", weights: { blue: 100, green: 0 } }, { propertyDependencies: { gates: [blue] } });
        assert.deepEqual(stackViolationsOf(trafficIsGated, [blue, gate("green", false), routes]), []);
    });

    it("blocks a share to a colour whose gate the routes don't wait for, or that has none", () => {
        const blue = gate("blue");
        const routes = resource({ kind: "Routes", weights: { blue: 90, green: 10 } }, { name: "lb-routes", propertyDependencies: { gates: [blue] } });
        const v = stackViolationsOf(trafficIsGated, [blue, gate("green"), routes]);
        assert.deepEqual(v, ["colour green receives 10 % of traffic but the routes do not wait for its health gate (lb-gate-green), so traffic could move to an unhealthy colour. Fix: pass lb-gate-green's passedAt in the routes' gates input."]);
        assert.match(stackViolationsOf(trafficIsGated, [routes, blue]).join("\n"), /colour green receives 10 % of traffic but has no health gate/);
    });

    it("blocks a share to a colour whose gate is marked idle, and routes without weights", () => {
        const blue = gate("blue", false);
        const routes = resource({ kind: "Routes", weights: { blue: 100 } }, { dependencies: [blue] });
        assert.match(stackViolationsOf(trafficIsGated, [blue, routes]).join("\n"), /is marked idle \(live: false\)/);
        assert.match(stackViolationsOf(trafficIsGated, [blue, resource({ kind: "Routes" })]).join("\n"), /declare no per-colour weights/);
    });
});
