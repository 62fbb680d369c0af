// The wrk summary parser the zero-drop tests rely on: a failure must never read as zero.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHey, parseWrk } from "../helpers/load";

describe("parseWrk", () => {
    it("counts socket errors and non-2xx answers as failed requests, in any time unit", () => {
        const r = parseWrk("  448362 requests in 2.02m, 117.34MB read\n  Socket errors: connect 1, read 484, write 2, timeout 3\n  Non-2xx or 3xx responses: 7\nRequests/sec: 3700\n");
        assert.deepEqual([r.requests, r.seconds, r.failed, r.non2xx], [448362, 121.2, 497, 7]);
        assert.equal(parseWrk("  1059 requests in 3.11s, 14.51MB read\n").failed, 0);
        assert.equal(parseWrk("  10 requests in 500.00ms, 1MB read\n").seconds, 0.5);
    });

    it("refuses output without a summary", () => {
        assert.throws(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"), /wrk printed no summary/);
    });
});

describe("parseHey", () => {
    const summary = "\nSummary:\n  Total:\t60.0 secs\n\n";
    it("counts non-2xx answers and transport errors as failed", () => {
        const r = parseHey(`${summary}Status code distribution:\n  [200]\t11982 responses\n  [502]\t51 responses\n\nError distribution:\n  [3]\tGet "http://127.0.0.1:8080/api/notes": EOF\n  [2]\tGet "http://127.0.0.1:8080/api/notes": read: connection reset by peer\n\n`);
        assert.deepEqual([r.requests, r.failed, r.errors, r.statuses], [12038, 56, 5, { 200: 11982, 502: 51 }]);
        assert.equal(parseHey(`${summary}Status code distribution:\n  [200]\t4657 responses\n\n\n`).failed, 0);
    });

    it("refuses output without a summary", () => {
        assert.throws(() => parseHey("dial tcp: connection refused\n"), /hey printed no summary/);
    });
});
