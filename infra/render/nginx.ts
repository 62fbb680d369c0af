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

/** A colour's upstream: where it listens, and the container that holds that address. */
export interface RouteBackend {
    readonly host: string;
    readonly port: number;
    /**
     * The address holder's container id. nginx resolves an upstream's name when an instance starts, so a new holder
     * (a new address) must mean new routes, and so a new instance (issue #12): it is written into the routes.
     */
    readonly addressId: string;
}

/** HTTPS at the balancer (loadBalancer.tls): nginx terminates TLS; plain HTTP is redirected to it. */
export interface RoutesTls {
    /** Port nginx listens on for HTTPS inside its container. */
    readonly listenPort: number;
    /** The host port users reach HTTPS on: where the redirect sends them (443 is left out of the URL). */
    readonly publicPort: number;
    /** Strict-Transport-Security max-age; 0 sends none. */
    readonly hstsMaxAgeSec: number;
}

/** Where each instance finds its certificate and key (written into it before it starts, like the routes). */
export const TLS_CERT_PATH = "/etc/nginx/noteshub/tls/cert.pem";
export const TLS_KEY_PATH = "/etc/nginx/noteshub/tls/key.pem";

export interface RoutesInput {
    readonly stack: string;
    readonly backends: Record<Color, RouteBackend>;
    /** Port nginx listens on inside its container (plain HTTP; with TLS, only to redirect). */
    readonly listenPort: number;
    readonly tls?: RoutesTls;
}

export interface TrafficInput {
    readonly stack: string;
    /** The colour being promoted (or live): it gets `traffic` percent, the other colour the rest. */
    readonly active: Color;
    /** Percent of requests for the active colour, 0-100. */
    readonly traffic: number;
    readonly versions: Record<Color, string>;
    /** Maintenance mode: every user request gets 503 with this message and Retry-After (images/nginx/noteshub.js). */
    readonly maintenance?: Maintenance;
    /** loadBalancer.previewToken: only its SHA-256 (previewDigest) goes into the state. */
    readonly previewToken?: string;
}

/** What the state keeps of the preview token: its SHA-256 in hex (the state is served at /lb/status). */
export function previewDigest(token: string): string {
    return (require("node:crypto") as typeof import("node:crypto")).createHash("sha256").update(token).digest("hex");
}

export interface Maintenance {
    readonly message: string;
    readonly retryAfterSec: number;
}

export interface TrafficState {
    readonly stack: string;
    readonly active: Color;
    readonly traffic: number;
    readonly weights: Record<Color, number>;
    readonly versions: Record<Color, string>;
    readonly maintenance?: Maintenance;
    /** SHA-256 of the preview token: a request carrying the token goes to the idle colour (or the one it names). */
    readonly preview?: string;
}

/** Each colour's share of requests. */
export function weightsOf(active: Color, traffic: number): Record<Color, number> {
    const other = active === "blue" ? "green" : "blue";
    return { [active]: traffic, [other]: 100 - traffic } as Record<Color, number>;
}

export function trafficState(t: TrafficInput): TrafficState {
    return { stack: t.stack, active: t.active, traffic: t.traffic, weights: weightsOf(t.active, t.traffic), versions: t.versions, ...(t.maintenance ? { maintenance: t.maintenance } : {}), ...(t.previewToken ? { preview: previewDigest(t.previewToken) } : {}) };
}

/**
 * Why a state file's text is not a traffic state, or undefined when it is one: exactly the shape renderState writes,
 * both weights whole numbers summing to 100, the active colour's weight as `traffic`, both versions. The holder's
 * noteshub-apply-state applies the same rule before it swaps a state in (images/holder/apply-state.sh).
 */
export function stateProblem(text: string): string | undefined {
    let s: TrafficState;
    try {
        s = JSON.parse(text) as TrafficState;
    } catch {
        return "it is not JSON";
    }
    const percent = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 100;
    if (!s || typeof s !== "object" || (s.active !== "blue" && s.active !== "green")) return "active is not blue or green";
    if (!s.weights || !percent(s.weights.blue) || !percent(s.weights.green)) return "it does not weigh both colours with whole percents";
    if (s.weights.blue + s.weights.green !== 100) return `its weights sum to ${s.weights.blue + s.weights.green}, not 100`;
    if (s.traffic !== s.weights[s.active]) return `it says ${s.active} has ${s.traffic} % but weighs it ${s.weights[s.active]}`;
    if (!s.versions || ![s.versions.blue, s.versions.green].every((v) => typeof v === "string" && /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$/.test(v))) return "it does not name both colours' versions";
    const m = s.maintenance;
    if (m !== undefined && !(m && typeof m.message === "string" && m.message.length > 0 && m.message.length <= 500 && Number.isInteger(m.retryAfterSec) && m.retryAfterSec >= 1 && m.retryAfterSec <= 86_400)) {
        return "its maintenance is not { message (1-500 characters), retryAfterSec (1-86400) }";
    }
    if (s.preview !== undefined && !(typeof s.preview === "string" && /^[0-9a-f]{64}$/.test(s.preview))) return "its preview is not a SHA-256 in hex";
    const rendered = renderState({ stack: s.stack, active: s.active, traffic: s.traffic, versions: s.versions, maintenance: m });
    // The digest is the token's, which the state does not hold: it goes back where renderState puts it.
    const expected = s.preview === undefined ? rendered : rendered.replace(/}\n$/, `,"preview":"${s.preview}"}\n`);
    if (typeof s.stack !== "string" || text !== expected) return "it is not in the form renderState writes";
    return undefined;
}

/** The state file's text: one line of JSON with fixed key order, so equal states are equal bytes. */
export function renderState(t: TrafficInput): string {
    const s = trafficState(t);
    const maintenance = s.maintenance ? { maintenance: { message: s.maintenance.message, retryAfterSec: s.maintenance.retryAfterSec } } : {};
    const preview = s.preview ? { preview: s.preview } : {};
    return JSON.stringify({ stack: s.stack, active: s.active, traffic: s.traffic, weights: { blue: s.weights.blue, green: s.weights.green }, versions: { blue: s.versions.blue, green: s.versions.green }, ...maintenance, ...preview }) + "\n";
}

// No version here: a new version keeps its colour's address (components/appColor.ts), so the routes, and nginx,
// stay as they are; the versions live in the traffic state.
function upstream(color: Color, b: RouteBackend): string {
    return [
        `# ${color}: the address of holder ${b.addressId.slice(0, 12)}`,
        `upstream noteshub_${color} {`,
        `    server ${b.host}:${b.port} max_fails=0;`,
        `    keepalive 32;`,
        `}`,
    ].join("\n");
}

/** How a request is proxied to the colour chosen for it (the same in the normal and the draining location). */
function proxy(target: string, hsts: string[]): string[] {
    return [
        `        access_log /dev/stdout noteshub buffer=32k flush=1s;`,
        `        proxy_pass ${target};`,
        `        proxy_http_version 1.1;`,
        `        proxy_set_header Connection "";`,
        `        proxy_set_header Host $host;`,
        `        proxy_set_header X-Real-IP $remote_addr;`,
        `        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`,
        `        proxy_set_header X-Forwarded-Proto $scheme;`,
        `        proxy_set_header X-NotesHub-Preview "";`,
        `        proxy_set_header Cookie $noteshub_app_cookie;`,
        `        proxy_next_upstream error timeout;`,
        `        add_header X-NotesHub-Color $noteshub_routed always;`,
        `        add_header Set-Cookie $noteshub_cookie;`,
        // A location's add_header replaces the server's, so HSTS is said again here.
        ...hsts.map((h) => `    ${h}`),
    ];
}

/** Where a request goes in maintenance mode: njs answers it (503, Retry-After, the message); logged like any other. */
function maintenanceLocation(path: string, draining: boolean, hsts: string[]): string[] {
    return [
        `    location = ${path} {`,
        `        internal;`,
        ...(draining ? [`        keepalive_timeout 0;`] : []),
        `        access_log /dev/stdout noteshub buffer=32k flush=1s;`,
        `        js_content noteshub.maintenance;`,
        ...hsts.map((h) => `    ${h}`),
        `    }`,
    ];
}

/** The server that routes users' requests: plain HTTP, or HTTPS with the certificate written into the instance. */
function routingServer(r: RoutesInput): string[] {
    const hsts = r.tls && r.tls.hstsMaxAgeSec > 0 ? [`    add_header Strict-Transport-Security "max-age=${r.tls.hstsMaxAgeSec}" always;`] : [];
    const listen = r.tls
        ? [
            `    # HTTPS, shared with any other instance in the holder's network namespace: a new instance (a new`,
            `    # certificate too) starts beside this one. HTTP/1.1 only, so a draining instance can close each connection.`,
            `    listen ${r.tls.listenPort} ssl reuseport;`,
            `    ssl_certificate ${TLS_CERT_PATH};`,
            `    ssl_certificate_key ${TLS_KEY_PATH};`,
            `    ssl_protocols TLSv1.2 TLSv1.3;`,
            `    ssl_session_cache shared:noteshub_tls:10m;`,
            `    ssl_session_timeout 1h;`,
            ...hsts,
        ]
        : [
            `    # Shared with any other instance in the holder's network namespace: a new instance starts beside this one.`,
            `    listen ${r.listenPort} reuseport;`,
        ];
    return [
        `server {`,
        ...listen,
        `    # This instance's own way in, for its readiness check (images/nginx/ready.sh).`,
        `    listen unix:/tmp/nginx/http.sock;`,
        `    client_max_body_size 50m;`,
        ``,
        `    location = /lb/status {`,
        `        access_log off;`,
        `        js_content noteshub.status;`,
        `    }`,
        ``,
        `    location = /lb/route {`,
        `        access_log off;`,
        `        js_content noteshub.route;`,
        `    }`,
        ``,
        `    location / {`,
        `        # Chosen once per request (the state is read once): the colour proxied to is the colour logged.`,
        `        set $noteshub_routed $noteshub_color;`,
        `        # Maintenance (the state says so): njs answers 503 with the message; no colour is asked.`,
        `        set $noteshub_mode "$noteshub_routed:$noteshub_draining";`,
        `        if ($noteshub_mode = "maintenance:") {`,
        `            rewrite ^ /.noteshub/maintenance last;`,
        `        }`,
        `        if ($noteshub_mode = "maintenance:1") {`,
        `            rewrite ^ /.noteshub/maintenance-drain last;`,
        `        }`,
        `        # An instance being replaced closes each connection after its answer, so clients reconnect to the new one.`,
        `        if ($noteshub_draining) {`,
        `            rewrite ^ /.noteshub/drain last;`,
        `        }`,
        ...proxy("http://noteshub_$noteshub_routed", hsts),
        `    }`,
        ``,
        `    location = /.noteshub/drain {`,
        `        internal;`,
        `        keepalive_timeout 0;`,
        `        set $noteshub_routed $noteshub_color;`,
        `        if ($noteshub_routed = "maintenance") {`,
        `            rewrite ^ /.noteshub/maintenance-drain last;`,
        `        }`,
        ...proxy("http://noteshub_$noteshub_routed$request_uri", hsts),
        `    }`,
        ``,
        ...maintenanceLocation("/.noteshub/maintenance", false, hsts),
        ``,
        ...maintenanceLocation("/.noteshub/maintenance-drain", true, hsts),
        `}`,
    ];
}

/** With TLS, plain HTTP only sends users to HTTPS (308 keeps the method and body) and closes the connection. */
function redirectServer(r: RoutesInput, tls: RoutesTls): string[] {
    const port = tls.publicPort === 443 ? "" : `:${tls.publicPort}`;
    return [
        `server {`,
        `    listen ${r.listenPort} reuseport;`,
        `    keepalive_timeout 0;`,
        `    location / {`,
        `        return 308 https://$host${port}$request_uri;`,
        `    }`,
        `}`,
        "",
    ];
}

export function renderRoutes(r: RoutesInput): string {
    return [
        `# Rendered by noteshub-deploy for stack ${r.stack}; pulumi up rewrites it, do not edit.`,
        `# Which colour gets which share is not here: /var/lib/noteshub/state/state.json, read per request.`,
        `js_path /usr/share/noteshub;`,
        `js_import noteshub.js;`,
        `js_set $noteshub_color noteshub.color;`,
        `js_set $noteshub_draining noteshub.draining;`,
        `js_var $noteshub_cookie;`,
        "",
        `# The app never sees the preview token: its cookie is taken out of what is proxied (the header is emptied below).`,
        `# Matched as nginx reads $cookie_noteshub_preview: any case, spaces around "=", ";" or "," between cookies. A`,
        `# header that still holds one after that (a second preview cookie) reaches the app with no cookies at all.`,
        `map $http_cookie $noteshub_cookie_rest {`,
        `    "~*^\\s*noteshub_preview\\s*=[^;,]*(?:[;,]\\s*)?(?<noteshub_after>.*)$" "$noteshub_after";`,
        `    "~*^(?<noteshub_before>.*?)\\s*[;,]\\s*noteshub_preview\\s*=[^;,]*(?<noteshub_rest>.*)$" "$noteshub_before$noteshub_rest";`,
        `    default $http_cookie;`,
        `}`,
        `map $noteshub_cookie_rest $noteshub_app_cookie {`,
        `    "~*(?:^|[;,])\\s*noteshub_preview\\s*=" "";`,
        `    default $noteshub_cookie_rest;`,
        `}`,
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
        ...(r.tls ? redirectServer(r, r.tls) : []),
        ...routingServer(r),
        "",
    ].join("\n");
}
