import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { previewDigest, renderRoutes, renderState, stateProblem, weightsOf } from "../../infra/render/nginx";

const backends = {
    blue: { host: "noteshub-staging-blue-addr", port: 8000, addressId: "0123456789abcdef0123" },
    green: { host: "noteshub-staging-green-addr", port: 8000, addressId: "fedcba9876543210fedc" },
};

describe("renderRoutes", () => {
    it("renders both upstreams, a per-request colour choice from the traffic state and draining, exactly", () => {
        assert.equal(renderRoutes({ stack: "noteshub-staging", backends, listenPort: 8080 }), `# Rendered by noteshub-deploy for stack noteshub-staging; pulumi up rewrites it, do not edit.
# Which colour gets which share is not here: /var/lib/noteshub/state/state.json, read per request.
js_path /usr/share/noteshub;
js_import noteshub.js;
js_set $noteshub_color noteshub.color;
js_set $noteshub_draining noteshub.draining;
js_var $noteshub_cookie;

# The app never sees the preview token: its cookie is taken out of what is proxied (the header is emptied below).
# Matched as nginx reads $cookie_noteshub_preview: any case, spaces around "=", ";" or "," between cookies. A
# header that still holds one after that (a second preview cookie) reaches the app with no cookies at all.
map $http_cookie $noteshub_cookie_rest {
    "~*^\\s*noteshub_preview\\s*=[^;,]*(?:[;,]\\s*)?(?<noteshub_after>.*)$" "$noteshub_after";
    "~*^(?<noteshub_before>.*?)\\s*[;,]\\s*noteshub_preview\\s*=[^;,]*(?<noteshub_rest>.*)$" "$noteshub_before$noteshub_rest";
    default $http_cookie;
}
map $noteshub_cookie_rest $noteshub_app_cookie {
    "~*(?:^|[;,])\\s*noteshub_preview\\s*=" "";
    default $noteshub_cookie_rest;
}

# One JSON line per request on the balancer's stdout, for noteshub watch (cli/monitor): when it ended (t, epoch s),
# the colour it went to (c), status (s), seconds nginx spent (rt), and the upstream's status and time (us, ut).
log_format noteshub escape=json '{"t":$msec,"c":"$noteshub_routed","s":$status,"rt":$request_time,"us":"$upstream_status","ut":"$upstream_response_time"}';

# blue: the address of holder 0123456789ab
upstream noteshub_blue {
    server noteshub-staging-blue-addr:8000 max_fails=0;
    keepalive 32;
}

# green: the address of holder fedcba987654
upstream noteshub_green {
    server noteshub-staging-green-addr:8000 max_fails=0;
    keepalive 32;
}

# Where a request goes when the state can't be read: nowhere (502), never a guessed colour.
upstream noteshub_none {
    server 127.0.0.1:1 down;
}

server {
    # Shared with any other instance in the holder's network namespace: a new instance starts beside this one.
    listen 8080 reuseport;
    # This instance's own way in, for its readiness check (images/nginx/ready.sh).
    listen unix:/tmp/nginx/http.sock;
    client_max_body_size 50m;

    location = /lb/status {
        access_log off;
        js_content noteshub.status;
    }

    location = /lb/route {
        access_log off;
        js_content noteshub.route;
    }

    location / {
        # Chosen once per request (the state is read once): the colour proxied to is the colour logged.
        set $noteshub_routed $noteshub_color;
        # Maintenance (the state says so): njs answers 503 with the message; no colour is asked.
        set $noteshub_mode "$noteshub_routed:$noteshub_draining";
        if ($noteshub_mode = "maintenance:") {
            rewrite ^ /.noteshub/maintenance last;
        }
        if ($noteshub_mode = "maintenance:1") {
            rewrite ^ /.noteshub/maintenance-drain last;
        }
        # An instance being replaced closes each connection after its answer, so clients reconnect to the new one.
        if ($noteshub_draining) {
            rewrite ^ /.noteshub/drain last;
        }
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        proxy_pass http://noteshub_$noteshub_routed;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-NotesHub-Preview "";
        proxy_set_header Cookie $noteshub_app_cookie;
        proxy_next_upstream error timeout;
        add_header X-NotesHub-Color $noteshub_routed always;
        add_header Set-Cookie $noteshub_cookie;
    }

    location = /.noteshub/drain {
        internal;
        keepalive_timeout 0;
        set $noteshub_routed $noteshub_color;
        if ($noteshub_routed = "maintenance") {
            rewrite ^ /.noteshub/maintenance-drain last;
        }
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        proxy_pass http://noteshub_$noteshub_routed$request_uri;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-NotesHub-Preview "";
        proxy_set_header Cookie $noteshub_app_cookie;
        proxy_next_upstream error timeout;
        add_header X-NotesHub-Color $noteshub_routed always;
        add_header Set-Cookie $noteshub_cookie;
    }

    location = /.noteshub/maintenance {
        internal;
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        js_content noteshub.maintenance;
    }

    location = /.noteshub/maintenance-drain {
        internal;
        keepalive_timeout 0;
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        js_content noteshub.maintenance;
    }
}
`);
    });

    it("with TLS: plain HTTP only redirects (closing its connection), HTTPS routes and sends HSTS, exactly", () => {
        const out = renderRoutes({ stack: "noteshub-prod", backends, listenPort: 8080, tls: { listenPort: 8443, publicPort: 443, hstsMaxAgeSec: 31536000 } });
        assert.equal(out.slice(out.indexOf("upstream noteshub_none")), `upstream noteshub_none {
    server 127.0.0.1:1 down;
}

server {
    listen 8080 reuseport;
    keepalive_timeout 0;
    location / {
        return 308 https://$host$request_uri;
    }
}

server {
    # HTTPS, shared with any other instance in the holder's network namespace: a new instance (a new
    # certificate too) starts beside this one. HTTP/1.1 only, so a draining instance can close each connection.
    listen 8443 ssl reuseport;
    ssl_certificate /etc/nginx/noteshub/tls/cert.pem;
    ssl_certificate_key /etc/nginx/noteshub/tls/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:noteshub_tls:10m;
    ssl_session_timeout 1h;
    add_header Strict-Transport-Security "max-age=31536000" always;
    # This instance's own way in, for its readiness check (images/nginx/ready.sh).
    listen unix:/tmp/nginx/http.sock;
    client_max_body_size 50m;

    location = /lb/status {
        access_log off;
        js_content noteshub.status;
    }

    location = /lb/route {
        access_log off;
        js_content noteshub.route;
    }

    location / {
        # Chosen once per request (the state is read once): the colour proxied to is the colour logged.
        set $noteshub_routed $noteshub_color;
        # Maintenance (the state says so): njs answers 503 with the message; no colour is asked.
        set $noteshub_mode "$noteshub_routed:$noteshub_draining";
        if ($noteshub_mode = "maintenance:") {
            rewrite ^ /.noteshub/maintenance last;
        }
        if ($noteshub_mode = "maintenance:1") {
            rewrite ^ /.noteshub/maintenance-drain last;
        }
        # An instance being replaced closes each connection after its answer, so clients reconnect to the new one.
        if ($noteshub_draining) {
            rewrite ^ /.noteshub/drain last;
        }
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        proxy_pass http://noteshub_$noteshub_routed;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-NotesHub-Preview "";
        proxy_set_header Cookie $noteshub_app_cookie;
        proxy_next_upstream error timeout;
        add_header X-NotesHub-Color $noteshub_routed always;
        add_header Set-Cookie $noteshub_cookie;
        add_header Strict-Transport-Security "max-age=31536000" always;
    }

    location = /.noteshub/drain {
        internal;
        keepalive_timeout 0;
        set $noteshub_routed $noteshub_color;
        if ($noteshub_routed = "maintenance") {
            rewrite ^ /.noteshub/maintenance-drain last;
        }
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        proxy_pass http://noteshub_$noteshub_routed$request_uri;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-NotesHub-Preview "";
        proxy_set_header Cookie $noteshub_app_cookie;
        proxy_next_upstream error timeout;
        add_header X-NotesHub-Color $noteshub_routed always;
        add_header Set-Cookie $noteshub_cookie;
        add_header Strict-Transport-Security "max-age=31536000" always;
    }

    location = /.noteshub/maintenance {
        internal;
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        js_content noteshub.maintenance;
        add_header Strict-Transport-Security "max-age=31536000" always;
    }

    location = /.noteshub/maintenance-drain {
        internal;
        keepalive_timeout 0;
        access_log /dev/stdout noteshub buffer=32k flush=1s;
        js_content noteshub.maintenance;
        add_header Strict-Transport-Security "max-age=31536000" always;
    }
}
`);
    });

    it("with TLS on another port the redirect names it; HSTS 0 sends none", () => {
        const out = renderRoutes({ stack: "s", backends, listenPort: 8080, tls: { listenPort: 8443, publicPort: 9443, hstsMaxAgeSec: 0 } });
        assert.match(out, /return 308 https:\/\/\$host:9443\$request_uri;/);
        assert.doesNotMatch(out, /Strict-Transport-Security/);
        assert.doesNotMatch(renderRoutes({ stack: "s", backends, listenPort: 8080 }), /ssl|308|Strict-Transport/);
    });

    it("changes with a colour's address holder, never with the colour, the share or a version", () => {
        // Traffic and versions are not inputs at all (they live in the state); a new holder is a new address, which a
        // running nginx would not re-resolve: so new routes, so a new instance (components/loadBalancer.ts).
        const moved = renderRoutes({ stack: "noteshub-staging", backends: { ...backends, green: { ...backends.green, addressId: "99999999999999999999" } }, listenPort: 8080 });
        assert.notEqual(moved, renderRoutes({ stack: "noteshub-staging", backends, listenPort: 8080 }));
        assert.match(moved, /# green: the address of holder 999999999999\n/);
    });
});

describe("renderState", () => {
    it("gives the active colour its share and the other the rest, as one line of JSON with a fixed key order", () => {
        assert.equal(renderState({ stack: "noteshub-staging", active: "green", traffic: 25, versions: { green: "v1.1.0", blue: "v1.0.0" } }),
            '{"stack":"noteshub-staging","active":"green","traffic":25,"weights":{"blue":75,"green":25},"versions":{"blue":"v1.0.0","green":"v1.1.0"}}\n');
        assert.equal(renderState({ stack: "s", active: "blue", traffic: 100, versions: { blue: "v1.0.0", green: "v1.1.0" }, maintenance: { retryAfterSec: 120, message: 'Back at "03:30" <UTC>' } }),
            '{"stack":"s","active":"blue","traffic":100,"weights":{"blue":100,"green":0},"versions":{"blue":"v1.0.0","green":"v1.1.0"},"maintenance":{"message":"Back at \\"03:30\\" <UTC>","retryAfterSec":120}}\n');
        assert.deepEqual(weightsOf("blue", 100), { blue: 100, green: 0 });
        assert.deepEqual(weightsOf("blue", 0), { blue: 0, green: 100 });
    });
});

describe("stateProblem", () => {
    const good = renderState({ stack: "noteshub-staging", active: "green", traffic: 25, versions: { blue: "v1.0.0", green: "v1.1.0" } });
    it("accepts what renderState writes, and nothing short of it", () => {
        assert.equal(stateProblem(good), undefined);
        const cases: [string, string][] = [
            ["half a fi", "it is not JSON"],
            ['{"weights":{}}\n', "active is not blue or green"],
            [good.replace('"active":"green"', '"active":"red"'), "active is not blue or green"],
            [good.replace('"weights":{"blue":75,"green":25}', '"weights":{"green":25}'), "it does not weigh both colours with whole percents"],
            [good.replace('"blue":75', '"blue":75.5'), "it does not weigh both colours with whole percents"],
            [good.replace('"blue":75', '"blue":70'), "its weights sum to 95, not 100"],
            [good.replace('"traffic":25', '"traffic":75'), "it says green has 75 % but weighs it 25"],
            [good.replace('"blue":"v1.0.0"', '"blue":"latest"'), "it does not name both colours' versions"],
            [good.replace("\n", ""), "it is not in the form renderState writes"],
        ];
        for (const [text, why] of cases) assert.equal(stateProblem(text), why, text);
    });

    it("keeps only the preview token's SHA-256, after maintenance, and checks it is one", () => {
        const token = "qa-preview-token-0123456789";
        const on = renderState({ stack: "s", active: "blue", traffic: 100, versions: { blue: "v1.0.0", green: "v1.1.0" }, maintenance: { message: "m", retryAfterSec: 5 }, previewToken: token });
        assert.equal(previewDigest(token), "104c3966e2808d5651895dd57e7db46f8632ac51450730d43b57b4b47170665b"); // sha256sum of the token
        assert.ok(on.endsWith(`"maintenance":{"message":"m","retryAfterSec":5},"preview":"${previewDigest(token)}"}\n`), on);
        assert.doesNotMatch(on, new RegExp(token));
        assert.equal(stateProblem(on), undefined);
        assert.equal(stateProblem(on.replace(previewDigest(token), "abc")), "its preview is not a SHA-256 in hex");
    });

    it("accepts maintenance mode as renderState writes it: a message of 1-500 characters and Retry-After's seconds", () => {
        const on = (message: string, retryAfterSec: number) => renderState({ stack: "s", active: "blue", traffic: 100, versions: { blue: "v1.0.0", green: "v1.1.0" }, maintenance: { message, retryAfterSec } });
        assert.equal(stateProblem(on('Back at "03:30" \\ soon\nreally', 300)), undefined);
        const why = "its maintenance is not { message (1-500 characters), retryAfterSec (1-86400) }";
        for (const text of [on("", 300), on("x".repeat(501), 300), on("x", 0), on("x", 1.5), on("x", 86_401), on("x", 300).replace('"message":"x"', '"message":7')]) assert.equal(stateProblem(text), why, text);
        assert.equal(stateProblem(on("x", 300).replace('{"message":"x","retryAfterSec":300}', '{"retryAfterSec":300,"message":"x"}')), "it is not in the form renderState writes");
    });
});
