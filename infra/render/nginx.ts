// The balancer's routes (images/nginx/nginx.conf includes them). Pure, asserted as an exact string in tests.
// Both colours always have an upstream, so switching is one line and the idle colour stays reachable for checks.
import type { Color } from "../config";

export interface Backend {
    /** Container name on the stack's network. */
    readonly host: string;
    readonly port: number;
    readonly version: string;
}

export interface RoutesInput {
    readonly stack: string;
    readonly active: Color;
    readonly backends: Record<Color, Backend>;
    /** Port nginx listens on inside its container. */
    readonly listenPort: number;
}

function upstream(color: Color, b: Backend): string {
    return [
        `upstream noteshub_${color} {`,
        `    # ${color}: ${b.version}`,
        `    server ${b.host}:${b.port} max_fails=0;`,
        `    keepalive 32;`,
        `}`,
    ].join("\n");
}

export function renderRoutes(r: RoutesInput): string {
    return [
        `# Rendered by noteshub-deploy for stack ${r.stack}; pulumi up rewrites it, do not edit.`,
        `# Live colour: ${r.active} (${r.backends[r.active].version})`,
        upstream("blue", r.backends.blue),
        "",
        upstream("green", r.backends.green),
        "",
        `server {`,
        `    listen ${r.listenPort};`,
        `    client_max_body_size 50m;`,
        ``,
        `    location = /lb/status {`,
        `        default_type application/json;`,
        `        return 200 '{"stack":"${r.stack}","active":"${r.active}","version":"${r.backends[r.active].version}"}\\n';`,
        `    }`,
        ``,
        `    location / {`,
        `        proxy_pass http://noteshub_${r.active};`,
        `        proxy_http_version 1.1;`,
        `        proxy_set_header Connection "";`,
        `        proxy_set_header Host $host;`,
        `        proxy_set_header X-Real-IP $remote_addr;`,
        `        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`,
        `        proxy_next_upstream error timeout;`,
        `        add_header X-NotesHub-Color ${r.active} always;`,
        `    }`,
        `}`,
        "",
    ].join("\n");
}
