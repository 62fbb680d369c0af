// Synthetic users for the drill: N keep-alive clients, each a loop of GET /api/notes through the balancer, each
// request recorded with the colour that answered (X-NotesHub-Color) — the users' side of the story, next to the
// balancer's log. Plain node:http (node:https for a stack with loadBalancer.tls: a private CA is trusted through
// NODE_EXTRA_CA_CERTS, as for fetch), so an operator's machine needs no load tool.
import * as http from "node:http";
import * as https from "node:https";

export interface Hit {
    /** When the answer ended (epoch ms). */
    readonly at: number;
    readonly color: string;
    readonly ok: boolean;
    readonly ms: number;
}

export class SyntheticLoad {
    readonly hits: Hit[] = [];
    private running = false;
    private loops: Promise<void>[] = [];
    private readonly agent: http.Agent;
    private readonly request: typeof http.request;

    constructor(private readonly url: string, private readonly clients = 8) {
        const tls = url.startsWith("https:");
        this.agent = new (tls ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: clients });
        this.request = (tls ? https.request : http.request) as typeof http.request;
    }

    start(): void {
        this.running = true;
        for (let i = 0; i < this.clients; i++) this.loops.push(this.loop());
    }

    async stop(): Promise<void> {
        this.running = false;
        await Promise.all(this.loops);
        this.agent.destroy();
    }

    /** Hits between two moments (epoch ms). */
    between(from: number, to: number): Hit[] {
        return this.hits.filter((h) => h.at >= from && h.at <= to);
    }

    private async loop(): Promise<void> {
        while (this.running) {
            const t0 = Date.now();
            const hit = await new Promise<Hit>((resolve) => {
                const req = this.request(`${this.url}/api/notes?limit=5`, { agent: this.agent, timeout: 10_000 }, (res) => {
                    res.resume();
                    res.on("end", () => resolve({ at: Date.now(), color: String(res.headers["x-noteshub-color"] ?? "none"), ok: (res.statusCode ?? 0) < 500, ms: Date.now() - t0 }));
                });
                req.on("timeout", () => req.destroy(new Error("timeout")));
                req.on("error", () => resolve({ at: Date.now(), color: "none", ok: false, ms: Date.now() - t0 }));
                req.end();
            });
            this.hits.push(hit);
            if (!hit.ok && hit.color === "none") await new Promise((r) => setTimeout(r, 50)); // no busy loop on a dead port
        }
    }
}
