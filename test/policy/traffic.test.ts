// traffic-is-gated: the traffic state must wait for the gate of every colour that gets a share.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { trafficIsGated } from "../../policy/traffic";
import { resource, stackViolationsOf } from "./run";

const gate = (color: string, live = true) => resource({ kind: "HealthGate", color, version: "v1.0.0", live }, { name: `lb-gate-${color}` });

describe("policy traffic-is-gated", () => {
    it("passes when the traffic state depends on the live colour's gate", () => {
        const blue = gate("blue");
        const routes = resource({ kind: "TrafficState", weights: { blue: 100, green: 0 } }, { propertyDependencies: { gates: [blue] } });
        assert.deepEqual(stackViolationsOf(trafficIsGated, [blue, gate("green", false), routes]), []);
    });

    it("blocks a share to a colour whose gate the traffic state doesn't wait for, or that has none", () => {
        const blue = gate("blue");
        const routes = resource({ kind: "TrafficState", weights: { blue: 90, green: 10 } }, { name: "lb-traffic", propertyDependencies: { gates: [blue] } });
        const v = stackViolationsOf(trafficIsGated, [blue, gate("green"), routes]);
        assert.deepEqual(v, ["colour green receives 10 % of traffic but the traffic state does not wait for its health gate (lb-gate-green), so traffic could move to an unhealthy colour. Fix: pass lb-gate-green's passedAt in the traffic state's gates input."]);
        assert.match(stackViolationsOf(trafficIsGated, [routes, blue]).join("\n"), /colour green receives 10 % of traffic but has no health gate/);
    });

    it("blocks a share to a colour whose gate is marked idle, and a traffic state without weights", () => {
        const blue = gate("blue", false);
        const routes = resource({ kind: "TrafficState", weights: { blue: 100 } }, { dependencies: [blue] });
        assert.match(stackViolationsOf(trafficIsGated, [blue, routes]).join("\n"), /is marked idle \(live: false\)/);
        assert.match(stackViolationsOf(trafficIsGated, [blue, resource({ kind: "TrafficState" })]).join("\n"), /declares no per-colour weights/);
    });
});
