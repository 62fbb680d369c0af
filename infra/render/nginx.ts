// What the balancer runs on: the routes (images/nginx/nginx.conf includes them) and the traffic state the routes
// read on every request (images/nginx/noteshub.js). Pure, asserted as exact strings in tests.
// The routes hold only what changes when a container does (upstreams); which colour gets what share lives in the
// state, so a switch or a weight change rewrites one small file and never reloads nginx (issue #6: no dropped request).
import type { Color } from "../config";

export interface Backend {
    /** Container name on the stack's network. */
    readonly host: string;
    readonly port: number;
    readonly version: string;
}

export interface RoutesInput {
    readonly stack: string;
    readonly backends: Record<Color, Backend>;
    /** Port nginx listens on inside its container. */
    readonly listenPort: number;
}

export interface TrafficInput {
    readonly stack: string;
    /** The colour being promoted (or live): it gets `traffic` percent, the other colour the rest. */
    readonly active: Color;
    /** Percent of requests for the active colour, 0-100. */
    readonly traffic: number;
    readonly versions: Record<Color, string>;
}

export interface TrafficState {
    readonly stack: string;
    readonly active: Color;
    readonly traffic: number;
    readonly weights: Record<Color, number>;
    readonly versions: Record<Color, string>;
}

/** Each colour's share of requests. */
export function weightsOf(active: Color, traffic: number): Record<Color, number> {
    const other = active === "blue" ? "green" : "blue";
    return { [active]: traffic, [other]: 100 - traffic } as Record<Color, number>;
}

export function trafficState(t: TrafficInput): TrafficState {
    return { stack: t.stack, active: t.active, traffic: t.traffic, weights: weightsOf(t.active, t.traffic), versions: t.versions };
}

/** The state file's text: one line of JSON with fixed key order, so equal states are equal bytes. */
export function renderState(t: TrafficInput): string {
    const s = trafficState(t);
    return JSON.stringify({ stack: s.stack, active: s.active, traffic: s.traffic, weights: { blue: s.weights.blue, green: s.weights.green }, versions: { blue: s.versions.blue, green: s.versions.green } }) + "\n";
}

// No version here: a new version keeps its colour's address (components/appColor.ts), so the routes, and nginx,
// stay as they are; the versions live in the traffic state.
function upstream(color: Color, b: Backend): string {
    return [
        `upstream noteshub_${color} {`,
        `    server ${b.host}:${b.port} max_fails=0;`,
        `    keepalive 32;`,
        `}`,
    ].join("\n");
}

export function renderRoutes(r: RoutesInput): string {
    return [
        `# Rendered by noteshub-deploy for stack ${r.stack}; pulumi up rewrites it, do not edit.`,
        `# Which colour gets which share is not here: /etc/nginx/noteshub/state.json, read per request.`,
        `js_path /usr/share/noteshub;`,
        `js_import noteshub.js;`,
        `js_set $noteshub_color noteshub.color;`,
        `js_var $noteshub_cookie;`,
        "",
        `# One JSON line per request on the balancer's stdout, for noteshub watch (cli/monitor): when it ended (t, epoch s),`,
        `# the colour it went to (c), status (s), seconds nginx spent (rt), and the upstream's status and time (us, ut).`,
        `log_format noteshub escape=json '{"t":$msec,"c":"$noteshub_routed","s":$status,"rt":$request_time,"us":"$upstream_status","ut":"$upstream_response_time"}';`,
        "",
        upstream("blue", r.backends.blue),
        "",
        upstream("green", r.backends.green),
        "",
        `# Where a request goes when the state can't be read: nowhere (502), never a guessed colour.`,
        `upstream noteshub_none {`,
        `    server 127.0.0.1:1 down;`,
        `}`,
        "",
        `server {`,
        `    listen ${r.listenPort};`,
        `    client_max_body_size 50m;`,
        ``,
        `    location = /lb/status {`,
        `        access_log off;`,
        `        js_content noteshub.status;`,
        `    }`,
        ``,
        `    location / {`,
        `        # Chosen once per request (the state is read once): the colour proxied to is the colour logged.`,
        `        set $noteshub_routed $noteshub_color;`,
        `        access_log /dev/stdout noteshub buffer=32k flush=1s;`,
        `        proxy_pass http://noteshub_$noteshub_routed;`,
        `        proxy_http_version 1.1;`,
        `        proxy_set_header Connection "";`,
        `        proxy_set_header Host $host;`,
        `        proxy_set_header X-Real-IP $remote_addr;`,
        `        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`,
        `        proxy_next_upstream error timeout;`,
        `        add_header X-NotesHub-Color $noteshub_routed always;`,
        `        add_header Set-Cookie $noteshub_cookie;`,
        `    }`,
        `}`,
        "",
    ].join("\n");
}
