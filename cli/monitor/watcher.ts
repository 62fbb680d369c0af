// Watches a stack while it runs (issue #7): follows the balancer's access log (one JSON line per request, Docker's
// log stream, so a remote engine works too; every nginx instance's, so a handover to a new one is followed too), probes both colours' /health and the database, keeps per-colour
// figures over a sliding window, and feeds the live colour's to the rollback triggers. Each second it makes a
// snapshot (printed, served as Prometheus text, plotted by the drill).
import { PassThrough } from "node:stream";
import { COLORS, type Color, type NotesHubConfig } from "../../infra/config";
import { connect } from "../../infra/docker/engine";
import { HANDOVER_LABEL } from "../../infra/docker/handover";
import { probeVia } from "../../infra/health/probe";
import { judgeHealth } from "../../infra/health/verdict";
import { colorAddress, namesFor } from "../../infra/names";
import { parseLine } from "./accessLog";
import { DatabaseProbe, type DbProbe } from "./database";
import { colourLevels, dbLevel } from "./levels";
import type { ColourSnapshot, Snapshot } from "./snapshot";
import { Triggers, type Firing, type HealthAnswer } from "./triggers";
import { Traffic } from "./window";

/** What the stack declares now: which colour is live (watched; none: figures only, no triggers), versions, shares. */
export interface Watched {
    readonly live?: Color;
    readonly versions: Record<Color, string>;
    readonly shares: Record<Color, number>;
}

export interface WatcherOptions {
    readonly onSnapshot?: (s: Snapshot) => void;
}

/** A /health answer: healthy by the gate's rules, and whether the colour's own database check passed. */
export function healthAnswer(status: number, body: string, error: string | undefined, version: string): HealthAnswer {
    const v = judgeHealth({ status, body, error }, version);
    let databaseOk = false;
    try {
        databaseOk = (JSON.parse(body) as { checks?: { database?: unknown } }).checks?.database === "ok";
    } catch {
        // no JSON: the database check did not pass either
    }
    return { ok: v.ok, databaseOk, reason: v.reason };
}

export class Watcher {
    readonly traffic: Traffic;
    private triggers: Triggers;
    private watched: Watched;
    private readonly health = new Map<Color, HealthAnswer>();
    private readonly db: DatabaseProbe;
    private readonly dbProbes: DbProbe[] = [];
    private timers: NodeJS.Timeout[] = [];
    private stopped = false;
    /** A probe round still running (a database or colour that is down answers late): the next one waits its turn. */
    private probing = false;
    /** The access log of each nginx instance followed, by container id. */
    private readonly logStreams = new Map<string, NodeJS.ReadableStream>();
    private readonly since = Math.floor(Date.now() / 1000);
    private readonly endedAt = new Map<string, number>();
    private following = false;
    private waiters: ((f: Firing | undefined) => void)[] = [];
    last?: Snapshot;

    constructor(private readonly cfg: NotesHubConfig, watched: Watched, private readonly opts: WatcherOptions = {}) {
        const m = cfg.monitoring;
        // Long enough for every trigger's window, and for an incident's impact (first bad signal to traffic back).
        this.traffic = new Traffic(Math.max(m.windowSec, m.triggers.errorRate.forSec, m.triggers.p95.forSec) + 120);
        this.triggers = new Triggers(m);
        this.watched = watched;
        this.db = new DatabaseProbe(cfg);
    }

    async start(): Promise<void> {
        // No balancer yet (a stack being brought up) is no reason to fail: it is followed once it is there. A new
        // instance (a balancer upgrade, new routes) is found within a second.
        await this.follow().catch(() => undefined);
        this.timers.push(setInterval(() => void this.follow().catch(() => undefined), 1000));
        this.timers.push(setInterval(() => this.tick(), 1000));
        const every = this.cfg.monitoring.triggers.health.intervalSec * 1000;
        const probe = () => {
            if (this.probing) return;
            this.probing = true;
            void this.probe().catch(() => undefined).finally(() => (this.probing = false));
        };
        probe();
        this.timers.push(setInterval(probe, every));
    }

    /** The stack declares something new: a new live colour or version is a new release, with fresh triggers. */
    update(w: Watched): void {
        const before = this.watched;
        this.watched = w;
        const release = (x: Watched) => (x.live ? `${x.live}@${x.versions[x.live]}` : "");
        if (release(w) !== release(before)) this.triggers = new Triggers(this.cfg.monitoring);
    }

    get watching(): Watched {
        return this.watched;
    }

    /** Waits `ms`, or less if a trigger fires meanwhile (resolves with it); a firing already `seen` doesn't count. */
    watchFor(ms: number, seen?: Firing): Promise<Firing | undefined> {
        if (this.triggers.fired && this.triggers.fired !== seen) return Promise.resolve(this.triggers.fired);
        return new Promise((resolve) => {
            const t = setTimeout(() => {
                this.waiters = this.waiters.filter((w) => w !== done);
                resolve(undefined);
            }, ms);
            const done = (f: Firing | undefined) => {
                clearTimeout(t);
                resolve(f);
            };
            this.waiters.push(done);
        });
    }

    async stop(): Promise<void> {
        this.stopped = true;
        for (const t of this.timers) clearInterval(t);
        for (const stream of this.logStreams.values()) (stream as unknown as { destroy?: () => void }).destroy?.();
        await this.db.close();
        for (const w of this.waiters.splice(0)) w(undefined);
    }

    /**
     * Follows the stdout of every running nginx instance not followed yet: from the watcher's start, or, for an
     * instance whose stream ended (it restarted), from where that stream ended, so no line is counted twice.
     */
    private async follow(): Promise<void> {
        if (this.stopped || this.following) return; // one listing at a time (a slow remote engine)
        this.following = true;
        try {
            const docker = connect(this.cfg.docker);
            const running = await docker.listContainers({ filters: { label: [`${HANDOVER_LABEL}=${namesFor(this.cfg).of("lb")}`] } });
            for (const { Id } of running) {
                if (this.logStreams.has(Id)) continue;
                const since = this.endedAt.get(Id) ?? this.since;
                const stream = (await docker.getContainer(Id).logs({ follow: true, stdout: true, stderr: false, since })) as NodeJS.ReadableStream;
                this.logStreams.set(Id, stream);
                const out = new PassThrough();
                docker.modem.demuxStream(stream, out, new PassThrough());
                let rest = "";
                out.on("data", (chunk: Buffer) => {
                    const lines = (rest + chunk.toString("utf8")).split("\n");
                    rest = lines.pop() ?? "";
                    for (const l of lines) {
                        const r = parseLine(l);
                        if (r) this.traffic.add(r);
                    }
                });
                // An instance that quit is forgotten; should it run again it is followed from here on.
                const forget = () => {
                    this.logStreams.delete(Id);
                    this.endedAt.set(Id, Math.ceil(Date.now() / 1000));
                };
                stream.on("end", forget);
                stream.on("error", forget);
            }
        } finally {
            this.following = false;
        }
    }

    private async probe(): Promise<void> {
        const names = namesFor(this.cfg);
        const docker = connect(this.cfg.docker);
        const lb = names.of("lb");
        await Promise.all([
            ...COLORS.map(async (c) => {
                const version = this.watched.versions[c];
                let a: HealthAnswer;
                try {
                    const p = await probeVia(docker, lb, { host: colorAddress(names, c), port: this.cfg.app.port }, "GET", "/health", 3000);
                    a = healthAnswer(p.status, p.body, p.error, version);
                } catch (err) {
                    a = { ok: false, databaseOk: false, reason: `could not probe: ${(err as Error).message}` };
                }
                if (this.stopped || version !== this.watched.versions[c]) return; // the colour changed meanwhile
                this.health.set(c, a);
                if (c === this.watched.live && this.watched.shares[c] > 0) this.consider(this.triggers.health(Date.now(), a));
            }),
            this.db.probe().then((p) => {
                this.dbProbes.push(p);
                const keep = Date.now() - this.cfg.monitoring.windowSec * 1000;
                while (this.dbProbes.length && this.dbProbes[0].at < keep) this.dbProbes.shift();
            }),
        ]);
    }

    private tick(): void {
        const now = Date.now();
        const s = this.snapshot(now);
        this.last = s;
        this.opts.onSnapshot?.(s);
        const live = this.watched.live;
        if (live && this.watched.shares[live] > 0) {
            const t = this.cfg.monitoring.triggers;
            const w = this.traffic.colours[live];
            this.consider(this.triggers.traffic(now, w.figures(now, this.triggers.judgeWindowSec(t.errorRate.forSec)), w.figures(now, this.triggers.judgeWindowSec(t.p95.forSec))));
        }
    }

    private consider(f: Firing | undefined): void {
        if (!f) return;
        for (const w of this.waiters.splice(0)) w(f);
    }

    snapshot(now = Date.now()): Snapshot {
        const m = this.cfg.monitoring;
        const colours = Object.fromEntries(COLORS.map((c) => {
            const w = this.traffic.colours[c];
            const figures = w.figures(now, m.windowSec);
            const h = this.health.get(c);
            const cs: ColourSnapshot = {
                version: this.watched.versions[c], share: this.watched.shares[c], figures, levels: colourLevels(m, figures),
                totalRequests: w.totalRequests, totalFailed: w.totalFailed, healthy: h?.ok, healthReason: h?.reason,
            };
            return [c, cs];
        })) as Record<Color, ColourSnapshot>;
        const ok = this.dbProbes.filter((p) => p.ok);
        const lastDb = this.dbProbes[this.dbProbes.length - 1];
        const avgQueryMs = ok.length ? ok.reduce((n, p) => n + p.queryMs!, 0) / ok.length : undefined;
        const up = lastDb?.ok ?? false;
        return {
            at: now, stack: this.cfg.stack, live: this.watched.live, windowSec: m.windowSec, colours,
            database: { up, avgQueryMs, connectMs: lastDb?.connectMs, level: lastDb ? dbLevel(m, avgQueryMs, up) : "unknown", error: lastDb?.error },
        };
    }
}
