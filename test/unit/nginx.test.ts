import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderRoutes, renderState, weightsOf } from "../../infra/render/nginx";

const backends = {
    blue: { host: "noteshub-staging-blue", port: 8000, version: "v1.0.0" },
    green: { host: "noteshub-staging-green", port: 8000, version: "v1.0.1" },
};

describe("renderRoutes", () => {
    it("renders both upstreams and a per-request colour choice from the traffic state, exactly", () => {
        assert.equal(renderRoutes({ stack: "noteshub-staging", backends, listenPort: 8080 }), `# Rendered by noteshub-deploy for stack noteshub-staging; pulumi up rewrites it, do not edit.
# Which colour gets which share is not here: /etc/nginx/noteshub/state.json, read per request.
js_path /usr/share/noteshub;
js_import noteshub.js;
js_set $noteshub_color noteshub.color;
js_var $noteshub_cookie;

# One JSON line per request on the balancer's stdout, for noteshub watch (cli/monitor): when it ended (t, epoch s),
# the colour it went to (c), status (s), seconds nginx spent (rt), and the upstream's status and time (us, ut).
log_format noteshub escape=json '{"t":$msec,"c":"$noteshub_routed","s":$status,"rt":$request_time,"us":"$upstream_status","ut":"$upstream_response_time"}';

upstream noteshub_blue {
    server noteshub-staging-blue:8000 max_fails=0;
    keepalive 32;
}

upstream noteshub_green {
    server noteshub-staging-green:8000 max_fails=0;
    keepalive 32;
}

# Where a request goes when the state can't be read: nowhere (502), never a guessed colour.
upstream noteshub_none {
    server 127.0.0.1:1 down;
}

server {
    listen 8080;
    client_max_body_size 50m;

    location = /lb/status {
        access_log off;
        js_content noteshub.status;
    }

    location / {
        # Chosen once per request (the state is read once): the colour proxied to is the colour logged.
        set $noteshub_routed $noteshub_color;
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        proxy_pass http://noteshub_$noteshub_routed;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_next_upstream error timeout;
        add_header X-NotesHub-Color $noteshub_routed always;
        add_header Set-Cookie $noteshub_cookie;
    }
}
`);
    });

    it("does not change with the colour, the share or a colour's version: none of them reloads nginx", () => {
        // Traffic is not an input at all; a new version keeps its colour's address (the holder), so only that remains.
        const newer = renderRoutes({ stack: "noteshub-staging", backends: { ...backends, green: { ...backends.green, version: "v1.1.0" } }, listenPort: 8080 });
        assert.equal(newer, renderRoutes({ stack: "noteshub-staging", backends, listenPort: 8080 }));
    });
});

describe("renderState", () => {
    it("gives the active colour its share and the other the rest, as one line of JSON with a fixed key order", () => {
        assert.equal(renderState({ stack: "noteshub-staging", active: "green", traffic: 25, versions: { green: "v1.1.0", blue: "v1.0.0" } }),
            '{"stack":"noteshub-staging","active":"green","traffic":25,"weights":{"blue":75,"green":25},"versions":{"blue":"v1.0.0","green":"v1.1.0"}}\n');
        assert.deepEqual(weightsOf("blue", 100), { blue: 100, green: 0 });
        assert.deepEqual(weightsOf("blue", 0), { blue: 0, green: 100 });
    });
});
