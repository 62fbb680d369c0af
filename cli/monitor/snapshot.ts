// What the watcher knows at one moment: both colours' traffic figures and levels, their last /health answers, and
// the database. Printed by `noteshub watch`, served as Prometheus text, and plotted by the drill's report.
import type { Color } from "../../infra/config";
import type { ColourLevels, Level } from "./levels";
import type { Figures } from "./window";

export interface ColourSnapshot {
    readonly version: string;
    /** Percent of new requests the balancer sends it. */
    readonly share: number;
    readonly figures: Figures;
    readonly levels: ColourLevels;
    /** Since the watcher started. */
    readonly totalRequests: number;
    readonly totalFailed: number;
    /** The last /health answer; undefined before the first probe. */
    readonly healthy?: boolean;
    readonly healthReason?: string;
}

export interface DatabaseSnapshot {
    readonly up: boolean;
    /** Average query time over the window, ms. */
    readonly avgQueryMs?: number;
    /** The last connection's setup time, ms. */
    readonly connectMs?: number;
    readonly level: Level;
    readonly error?: string;
}

export interface Snapshot {
    readonly at: number;
    readonly stack: string;
    /** The colour being watched: the active one (it runs the release under watch). */
    readonly live?: Color;
    readonly windowSec: number;
    readonly colours: Record<Color, ColourSnapshot>;
    readonly database: DatabaseSnapshot;
}
