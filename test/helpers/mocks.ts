// Runs infra/index.ts under Pulumi mocks and records every resource with its resolved inputs (STYLE habit 10).
// Mocks never run providers; the providers are proven against the real engine in test/providers and test/e2e.
import * as pulumi from "@pulumi/pulumi";
import type { Observed } from "../../infra/observe";
import { renderRoutes } from "../../infra/render/nginx";
import { rawConfig } from "./config";

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** Top-level inputs that arrived as Pulumi secrets. */
    secrets: string[];
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d"; // Pulumi's marker for a serialized secret
const isSecret = (v: unknown) => !!v && typeof v === "object" && SECRET_SIG in (v as object);

function unwrap(v: unknown): any {
    if (isSecret(v)) return unwrap((v as { value: unknown }).value);
    if (Array.isArray(v)) return v.map(unwrap);
    return v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== "__provider").map(([k, x]) => [k, unwrap(x)])) : v;
}

/**
 * Loads the program afresh with the given config overrides; resolves once every resource is registered. `observed`
 * stands in for what the program would read from the engine (infra/observe.ts): by default nothing runs.
 */
export async function runProgram(overrides: Record<string, unknown> = {}, stack = "staging", observed: Partial<Observed> = {}): Promise<{ resources: Recorded[]; outputs: Record<string, unknown> }> {
    const resources: Recorded[] = [];
    (globalThis as { __noteshubObserve?: (names: string[]) => Observed }).__noteshubObserve = (names) => ({
        weights: observed.weights, specs: { ...Object.fromEntries(names.map((n) => [n, null])), ...observed.specs }, running: observed.running ?? [],
    });
    await pulumi.runtime.setMocks({
        newResource(args) {
            const secrets = Object.keys(args.inputs).filter((k) => isSecret(args.inputs[k]));
            resources.push({ type: args.type, name: args.name, inputs: unwrap(args.inputs), secrets });
            const outs: Record<string, unknown> = { ...args.inputs };
            if (args.type.endsWith(":Container")) outs.containerId = `cid-${args.inputs.name}`;
            if (args.type.endsWith(":Image")) outs.imageId = `sha256:${args.inputs.name}`;
            if (args.type.endsWith(":HealthGate")) outs.passedAt = `passed-${args.inputs.color}`;
            if (args.type.endsWith(":Routes")) outs.content = renderRoutes(args.inputs as never); // what its provider renders
            return { id: `id-${args.name}`, state: outs };
        },
        call(args) {
            throw new Error(`unexpected call ${args.token}`);
        },
    }, "noteshub", stack, false);
    pulumi.runtime.setAllConfig(rawConfig(overrides));
    for (const key of Object.keys(require.cache)) if (key.includes("/infra/")) delete require.cache[key];
    const program = require("../../infra/index") as Record<string, unknown>;
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(program)) {
        outputs[k] = pulumi.Output.isInstance(v) ? await new Promise((r) => (v as pulumi.Output<unknown>).apply(r)) : v;
    }
    // Let the last registrations settle.
    await new Promise((r) => setTimeout(r, 50));
    return { resources, outputs };
}

export const byName = (rs: Recorded[], name: string): Recorded => {
    const r = rs.find((x) => x.name === name);
    if (!r) throw new Error(`no resource ${name}; have ${rs.map((x) => x.name).join(", ")}`);
    return r;
};
