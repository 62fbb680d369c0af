// Each colour's health as the gate judges it (infra/health/verdict.ts), probed from inside the balancer container.
import { COLORS, type Color, type NotesHubConfig } from "../infra/config";
import { connect } from "../infra/docker/engine";
import { probeVia } from "../infra/health/probe";
import { judgeHealth } from "../infra/health/verdict";
import { colorAddress, namesFor } from "../infra/names";

export interface ColourHealth {
    readonly color: Color;
    readonly version: string;
    readonly healthy: boolean;
    readonly reason: string;
}

// Not whether a colour is retired (callers judge that): so a declared state, whose `retired` may be null, spreads in.
export async function colourHealth(cfg: Omit<NotesHubConfig, "retired">): Promise<ColourHealth[]> {
    const names = namesFor(cfg);
    const docker = connect(cfg.docker);
    return Promise.all(COLORS.map(async (color) => {
        const version = cfg[`${color}Version`];
        try {
            const p = await probeVia(docker, names.of("lb"), { host: colorAddress(names, color), port: cfg.app.port }, "GET", "/health", 5000);
            const v = judgeHealth(p, version);
            return { color, version, healthy: v.ok, reason: v.ok ? "healthy" : v.reason };
        } catch (err) {
            return { color, version, healthy: false, reason: `could not probe: ${(err as Error).message}` };
        }
    }));
}
