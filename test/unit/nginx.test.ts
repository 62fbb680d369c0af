import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderRoutes } from "../../infra/render/nginx";

const backends = {
    blue: { host: "noteshub-staging-blue", port: 8000, version: "v1.0.0" },
    green: { host: "noteshub-staging-green", port: 8000, version: "v1.0.1" },
};

describe("renderRoutes", () => {
    it("renders both upstreams and sends all traffic to the active colour, exactly", () => {
        assert.equal(renderRoutes({ stack: "noteshub-staging", active: "green", backends, listenPort: 8080 }), `# Rendered by noteshub-deploy for stack noteshub-staging; pulumi up rewrites it, do not edit.
# Live colour: green (v1.0.1)
upstream noteshub_blue {
    # blue: v1.0.0
    server noteshub-staging-blue:8000 max_fails=0;
    keepalive 32;
}

upstream noteshub_green {
    # green: v1.0.1
    server noteshub-staging-green:8000 max_fails=0;
    keepalive 32;
}

server {
    listen 8080;
    client_max_body_size 50m;

    location = /lb/status {
        default_type application/json;
        return 200 '{"stack":"noteshub-staging","active":"green","version":"v1.0.1"}\\n';
    }

    location / {
        proxy_pass http://noteshub_green;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_next_upstream error timeout;
        add_header X-NotesHub-Color green always;
    }
}
`);
    });

    it("differs between colours only in the live lines", () => {
        const blue = renderRoutes({ stack: "s", active: "blue", backends, listenPort: 8080 }).split("\n");
        const green = renderRoutes({ stack: "s", active: "green", backends, listenPort: 8080 }).split("\n");
        const changed = blue.map((l, i) => [l, green[i]]).filter(([a, b]) => a !== b).map(([a]) => a.trim());
        assert.deepEqual(changed, [
            "# Live colour: blue (v1.0.0)",
            `return 200 '{"stack":"s","active":"blue","version":"v1.0.0"}\\n';`,
            "proxy_pass http://noteshub_blue;",
            "add_header X-NotesHub-Color blue always;",
        ]);
    });
});
