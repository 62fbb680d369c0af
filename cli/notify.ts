// Rollback announcements (runbook "Communication Protocol"): the runbook's template messages, filled with the real
// versions, reason and impact, POSTed to the stack's webhook (notifications.webhook, a Pulumi secret) as
// Slack-style {"text": ...} plus the same facts as fields. Delivery runs beside the rollback, in order, retried
// with backoff; a webhook that fails or hangs never delays or fails a rollback.

export type NoticeKind = "rollback-initiated" | "rollback-update" | "rollback-completed" | "rollback-failed";

export interface Notice {
    readonly kind: NoticeKind;
    readonly stack: string;
    readonly from: string;
    readonly to: string;
    readonly reason: string;
    /** Initiated: what is being done. Update: where it is. Failed: the error. */
    readonly status?: string;
    /** Initiated: the ETA. */
    readonly eta?: string;
    /** Update: seconds since it began. */
    readonly elapsedSec?: number;
    /** Completed: e.g. "~2 minutes of degraded performance (143 of 5210 requests failed on v1.2.3)". */
    readonly impact?: string;
}

/** The message text, exactly the runbook's templates plus the stack. Pure. */
export function renderNotice(n: Notice): string {
    switch (n.kind) {
        case "rollback-initiated":
            return [`🔴 ROLLBACK IN PROGRESS (${n.stack})`, `Version: ${n.from} → ${n.to}`, `Reason: ${n.reason}`, `Status: ${n.status ?? "Switching traffic to previous version"}`, `ETA: ${n.eta ?? "5 minutes"}`].join("\n");
        case "rollback-update":
            return [`🟠 ROLLBACK UPDATE (${n.stack})`, `Version: ${n.from} → ${n.to}`, `Reason: ${n.reason}`, `Status: ${n.status ?? "in progress"}`, `Elapsed: ${duration(n.elapsedSec ?? 0)}`].join("\n");
        case "rollback-completed":
            return [`✅ ROLLBACK COMPLETED (${n.stack})`, `Version: Now running ${n.to}`, `Status: All systems operational`, `Impact: ${n.impact ?? "unknown"}`, `Next Steps: Post-mortem scheduled for tomorrow`].join("\n");
        case "rollback-failed":
            return [`❌ ROLLBACK FAILED (${n.stack})`, `Version: ${n.from} → ${n.to}`, `Reason: ${n.reason}`, `Status: ${n.status ?? "failed"}`, `Next Steps: run noteshub status; if the service is down, noteshub rollback --emergency`].join("\n");
    }
}

/** "2 min 5 s", "40 s". */
export function duration(sec: number): string {
    const s = Math.round(sec);
    return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

export interface Delivery {
    readonly kind: NoticeKind;
    readonly ok: boolean;
    readonly attempts: number;
    readonly error?: string;
}

export interface NotifierOptions {
    readonly webhook?: string;
    readonly attempts: number;
    readonly timeoutSec: number;
    /** Called after each message's delivery ends (the deployment log records it). */
    readonly onDelivery?: (d: Delivery) => void;
    /** Backoff before retry n (1-based), ms. */
    readonly backoffMs?: (n: number) => number;
}

export class Notifier {
    private queue: Promise<void> = Promise.resolve();
    private pending = 0;

    constructor(private readonly o: NotifierOptions) {}

    get enabled(): boolean {
        return this.o.webhook !== undefined;
    }

    /** Queues a message; returns at once. */
    send(n: Notice): void {
        if (!this.o.webhook) return;
        this.pending++;
        this.queue = this.queue.then(() => this.deliver(n)).finally(() => this.pending--);
    }

    /** Waits for queued messages, at most `maxMs` (a CLI exits after this; deliveries still running are dropped). */
    async flush(maxMs: number): Promise<boolean> {
        if (!this.pending) return true;
        let timer: NodeJS.Timeout | undefined;
        const done = await Promise.race([this.queue.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), maxMs)))]);
        clearTimeout(timer);
        return done;
    }

    private async deliver(n: Notice): Promise<void> {
        const body = JSON.stringify({ text: renderNotice(n), event: n.kind, stack: n.stack, from: n.from, to: n.to, reason: n.reason, status: n.status, impact: n.impact, at: new Date().toISOString() });
        let error = "";
        for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
            try {
                const r = await fetch(this.o.webhook!, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(this.o.timeoutSec * 1000) });
                if (r.ok) {
                    this.o.onDelivery?.({ kind: n.kind, ok: true, attempts: attempt });
                    return;
                }
                error = `HTTP ${r.status}`;
            } catch (err) {
                error = (err as Error).message;
            }
            if (attempt < this.o.attempts) await new Promise((r) => setTimeout(r, (this.o.backoffMs ?? ((k) => 500 * 2 ** (k - 1)))(attempt)));
        }
        this.o.onDelivery?.({ kind: n.kind, ok: false, attempts: this.o.attempts, error });
    }
}
