// The fast path that moves traffic before `pulumi up` records it (the immediate rollback, a restore after a failed
// step, maintenance on and off): the same state the program renders for the config, swapped in within seconds.
import type { NotesHubConfig } from "../infra/config";
import { connect } from "../infra/docker/engine";
import { colorAddress, namesFor } from "../infra/names";
import { RECHECK_MS, runGate } from "../infra/providers/healthGate";
import { applyState } from "../infra/providers/trafficState";
import { readFileIn, STATE_FILE } from "../infra/docker/live";
import { renderState, type Maintenance } from "../infra/render/nginx";
import type { Context } from "./context";
import type { Declared } from "./plan";

/** The traffic state the program renders for a declared state under this config (maintenance and preview included). */
export const stateFor = (cfg: NotesHubConfig, d: Declared, maintenance: Maintenance | undefined = cfg.maintenance): string =>
    renderState({ stack: namesFor(cfg).prefix, active: d.activeColor, traffic: d.traffic, versions: { blue: d.blueVersion, green: d.greenVersion }, maintenance, previewToken: cfg.loadBalancer.previewToken });

/**
 * Maintenance mode as the balancer serves it now: a switch moves traffic and leaves maintenance as it is, even when
 * `maintenance on|off` ran after this command read its config (during deploy's long watch). Unreadable: the config's.
 */
async function liveMaintenance(cfg: NotesHubConfig, holder: string): Promise<Maintenance | undefined> {
    try {
        const text = await readFileIn(connect(cfg.docker), holder, STATE_FILE);
        return text === undefined ? cfg.maintenance : (JSON.parse(text) as { maintenance?: Maintenance }).maintenance;
    } catch {
        return cfg.maintenance;
    }
}

/** The balancer's holder: the container the state is swapped in. */
export async function balancerHolder(cfg: NotesHubConfig): Promise<string> {
    return (await connect(cfg.docker).getContainer(namesFor(cfg).of("lb")).inspect()).Id;
}

/**
 * The immediate rollback's fast path (runbook: "switch traffic back", seconds): once the config declares the other
 * colour, the balancer switches as soon as that colour passes the gate's own check (same streak, RECHECK_MS apart),
 * with the state the program renders for that config; the `pulumi up` that follows records it and finds it in place.
 */
export async function switchNow(ctx: Context, cfg: NotesHubConfig, after: Declared): Promise<void> {
    const names = namesFor(cfg);
    const target = after.activeColor;
    const version = after[`${target}Version`];
    const holder = await balancerHolder(cfg);
    await runGate({ docker: cfg.docker, probeContainerId: holder, color: target, host: colorAddress(names, target), port: cfg.app.port, version, container: names.of(target), settings: { ...cfg.healthGate, intervalMs: Math.min(cfg.healthGate.intervalMs, RECHECK_MS) } }, undefined, { running: true });
    await applyState({ docker: cfg.docker, containerId: holder, state: stateFor(cfg, after, await liveMaintenance(cfg, holder)) });
    ctx.say(`traffic is on ${target} (${version}); recording it with pulumi up`);
}
