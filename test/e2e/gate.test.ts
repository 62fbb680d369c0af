// The health gate through the real pulumi CLI: traffic moves only to a colour that just proved healthy at its
// configured version; every way of being sick fails `pulumi up` with the colour, version, check and last answer,
// and leaves traffic where it was.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { http, TestStack, startTestStack } from "../helpers/stack";

const STACK = "e2e-gate";

describe("health gate (real pulumi, Docker, nginx, FerretDB)", { timeout: 15 * 60_000 }, () => {
    let stack: TestStack;
    let url = "";
    const liveVersion = async () => (await http(`${url}/health`)).body.version;
    /** Makes green (v1.0.1) misbehave, tries to send it traffic, and returns the failed update's output. */
    const flipToSickGreen = (env: Record<string, string>) => {
        stack.pulumi("config", "rm", "--path", "app.envByVersion");
        for (const [k, v] of Object.entries(env)) stack.must("config", "set", "--path", `app.envByVersion["v1.0.1"].${k}`, v);
        stack.must("config", "set", "activeColor", "green");
        const r = stack.up();
        assert.notEqual(r.code, 0, "the update must fail");
        stack.must("config", "set", "activeColor", "blue"); // declared back to what runs
        return r.stdout + r.stderr;
    };

    before(async () => {
        // The first up starts everything at once (on a busy CI machine a colour may take longer than 6 s to listen):
        // it gets the default deadline; the sick colours below get 15 s (a restarted container must start within it).
        ({ stack, url } = await startTestStack(STACK, { healthGate: { intervalMs: 300 } }));
        stack.must("config", "set", "--path", "healthGate.timeoutSec", "15");
        assert.equal(await liveVersion(), "v1.0.0");
    });
    after(() => stack?.dispose());

    it("a colour whose /health fails: up fails naming colour, version, check and answer; traffic stays", async () => {
        const out = flipToSickGreen({ NOTESHUB_FAIL_HEALTH: "1" });
        assert.match(out, /health gate: green \(v1\.0\.1\) at noteshub-e2e-gate-green-addr:8000: GET \/health failed \(3 failed checks in a row, \d+ probes\)\. Last answer: HTTP 503, status "unhealthy", checks \{"database":"ok","storage":"ok","simulated":"error: simulated failure \(drill switch\)"\}/);
        assert.match(out, /-> traffic was not moved\. Check the colour's logs \(docker logs noteshub-e2e-gate-green\)/);
        assert.equal(await liveVersion(), "v1.0.0");
    });

    it("a colour that never listens fails at the gate's deadline (one still starting is not failing)", async () => {
        const out = flipToSickGreen({ NOTESHUB_NO_LISTEN: "1" });
        assert.match(out, /health gate: green \(v1\.0\.1\) .*GET \/health failed \(never answered within 15s, \d+ probes\)\. Last answer: no answer \(curl: \(7\) Failed to connect/);
        assert.equal(await liveVersion(), "v1.0.0");
    });

    it("a colour reporting another version than configured fails", async () => {
        const out = flipToSickGreen({ NOTESHUB_BUILD_VERSION: "v1.0.0" });
        assert.match(out, /health gate: green \(v1\.0\.1\) .*Last answer: reports version "v1\.0\.0", configured v1\.0\.1/);
        assert.equal(await liveVersion(), "v1.0.0");
    });

    it("a flapping colour does not pass on a lucky answer", async () => {
        const out = flipToSickGreen({ NOTESHUB_FLAP_HEALTH: "1" });
        assert.match(out, /health gate: green \(v1\.0\.1\) .*GET \/health failed \(not 3 healthy answers in a row within 15s, \d+ probes\)/);
        assert.equal(await liveVersion(), "v1.0.0");
    });

    it("a healthy colour whose critical endpoint fails is stopped by the smoke check", async () => {
        const out = flipToSickGreen({ NOTESHUB_ERROR_RATE: "1" });
        assert.match(out, /health gate: green \(v1\.0\.1\) .*smoke check GET \/api\/notes failed: HTTP 500, expected 200/);
        assert.equal(await liveVersion(), "v1.0.0");
    });

    it("a healthy colour passes and gets the traffic; an unchanged colour is not re-checked", async () => {
        stack.must("config", "rm", "--path", "app.envByVersion");
        stack.must("config", "set", "activeColor", "green");
        const r = stack.up();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /lb-gate-green (updated|created)/);
        assert.equal(await liveVersion(), "v1.0.1");
        const again = stack.up();
        assert.equal(again.code, 0);
        assert.doesNotMatch(again.stdout, /lb-gate-/, "no gate ran on a no-change up");
    });
});
