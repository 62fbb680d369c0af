// What happens around an automatic rollback, the same for `noteshub deploy` (a trigger while a step is watched) and
// `noteshub watch`: the trigger and the figures behind it go to the deployment log, the runbook's messages go to
// the webhook (initiated, an update every statusEverySec while it runs, completed or failed), and the impact is
// counted from the balancer's own log.
import type { Color, NotesHubConfig } from "../infra/config";
import { storageOf } from "../infra/stackFile";
import type { Context } from "./context";
import type { Firing } from "./monitor/triggers";
import type { Watcher } from "./monitor/watcher";
import { duration, Notifier } from "./notify";
import { PlanError } from "./plan";

export interface Side {
    readonly color: Color;
    readonly version: string;
}

/** The stack's notifier; a webhook stored in plaintext is refused (its URL is its password). */
export function notifierFor(ctx: Context, cfg: NotesHubConfig): Notifier {
    const n = cfg.notifications;
    if (n.webhook && storageOf(ctx.stack.name, "noteshub:notifications", ["webhook"]) === "plaintext") {
        throw new PlanError(`noteshub:notifications.webhook is stored in plaintext in Pulumi.${ctx.stack.name}.yaml, and a webhook URL is its own password; fix: pulumi config set --secret --path notifications.webhook '<url>'`);
    }
    return new Notifier({
        webhook: n.webhook, attempts: n.attempts, timeoutSec: n.timeoutSec,
        onDelivery: (d) => ctx.log("notification", d.kind, d.ok, { why: "notifications.webhook", figures: { attempts: d.attempts }, error: d.error }),
    });
}

export class Incident {
    private readonly started = Date.now();
    private timer?: NodeJS.Timeout;
    private readonly status = "Switching traffic to previous version";

    constructor(
        private readonly ctx: Context,
        private readonly cfg: NotesHubConfig,
        private readonly notifier: Notifier,
        private readonly watcher: Watcher,
        readonly firing: Firing,
        readonly from: Side,
        readonly to: Side,
    ) {}

    /** Logs the trigger and announces the rollback; status updates follow until it ends. */
    begin(): void {
        const f = this.firing;
        this.ctx.say(`TRIGGER ${f.trigger}: ${f.reason}; rolling back ${this.from.color} (${this.from.version}) -> ${this.to.color} (${this.to.version})`);
        this.ctx.log("trigger", `${f.trigger}: roll back ${this.from.color} (${this.from.version}) to ${this.to.color} (${this.to.version})`, true, {
            why: f.reason,
            figures: { ...f.figures, trigger: f.trigger, firstBadAt: new Date(f.firstBadAt).toISOString(), detectSec: (f.firedAt - f.firstBadAt) / 1000, rolledBackFrom: `${this.from.color}@${this.from.version}`, to: `${this.to.color}@${this.to.version}` },
        });
        this.notifier.send({ kind: "rollback-initiated", stack: this.ctx.stack.name, from: this.from.version, to: this.to.version, reason: f.reason, status: this.status, eta: "under 1 minute (immediate rollback: traffic switch)" });
        const every = this.cfg.monitoring.statusEverySec * 1000;
        this.timer = setInterval(() => this.notifier.send({ kind: "rollback-update", stack: this.ctx.stack.name, from: this.from.version, to: this.to.version, reason: f.reason, status: this.status, elapsedSec: (Date.now() - this.started) / 1000 }), every);
    }

    /** Failed requests on the colour rolled back from, from the first bad signal to now. */
    impact(): string {
        const w = this.watcher.traffic.colours[this.from.color];
        const f = w.figures(Date.now(), Math.ceil((Date.now() - this.firing.firstBadAt) / 1000) + 1);
        return `~${duration((Date.now() - this.firing.firstBadAt) / 1000)} of degraded service on ${this.from.version} (${f.failed} of ${f.requests} requests to it failed)`;
    }

    end(ok: boolean, error?: string): void {
        clearInterval(this.timer);
        const base = { stack: this.ctx.stack.name, from: this.from.version, to: this.to.version, reason: this.firing.reason };
        if (ok) this.notifier.send({ ...base, kind: "rollback-completed", impact: this.impact() });
        else this.notifier.send({ ...base, kind: "rollback-failed", status: error?.split("\n")[0] ?? "failed" });
    }
}
