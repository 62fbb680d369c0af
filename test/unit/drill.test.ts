// The drill's report renderers, exactly (the numbers in the picture are checked by hand: blue's 100 req/s at t=0 is
// the top of the plot, y=30; its p95 of 10 ms, half the 20 ms maximum, is y=175; the mark at 5 s of 10 is x=475).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderMarkdown, renderSvg, type DrillReport } from "../../cli/drill/report";

const report: DrillReport = {
    stack: "staging", startedAt: "2026-11-30T16:00:00.000Z", seconds: 190.4, passed: true,
    versions: { good: "v1.0.0", release: "v1.0.1" },
    steps: [
        { name: "release failing health", expected: "the gate blocks it", passed: true, outcome: "blocked", startedAt: 0, endedAt: 1, detectSec: 4.21, requests: 1200, failed: 0 },
        { name: "release answering 20 % errors", expected: "the error-rate trigger rolls it back", passed: true, outcome: "rolled back", startedAt: 1, endedAt: 2, detectSec: 5.02, recoverSec: 7.5, requests: 3400, failed: 61 },
    ],
    before: { documents: 12, uploads: 3 }, after: { documents: 12, uploads: 3 }, notesKept: { created: 3, found: 3 },
    healthAfter: "blue v1.0.0 healthy, green v1.0.1 healthy",
    timeline: [{ t: 0, blue: { rate: 100, errors: 0, p95Ms: 10 }, green: { rate: 0, errors: 0 } }, { t: 10, blue: { rate: 90, errors: 0, p95Ms: 12 }, green: { rate: 10, errors: 2, p95Ms: 20 } }],
    marks: [{ t: 5, label: "2 errors" }],
};

describe("drill report", () => {
    it("Markdown: each step with detect and recover times, requests and failures; the data before and after", () => {
        assert.equal(renderMarkdown(report), `# Rollback drill: staging, 2026-11-30T16:00:00.000Z

**PASSED** in 190 s. Good version v1.0.0, release under drill v1.0.1.

| Step | Expected | Result | Detect | Recover | Requests | Failed |
|---|---|---|---|---|---|---|
| release failing health | the gate blocks it | pass: blocked | 4.2 s | - | 1200 | 0 |
| release answering 20 % errors | the error-rate trigger rolls it back | pass: rolled back | 5.0 s | 7.5 s | 3400 | 61 |

| Data | Before | After |
|---|---|---|
| Documents (notes) | 12 | 12 |
| Uploaded files | 3 | 3 |
| Drill notes found by id | 3 | 3 |

Health after the drill: blue v1.0.0 healthy, green v1.0.1 healthy.

![requests, errors and p95 per colour](drill.svg)
`);
    });

    it("SVG: requests, errors and p95 per colour over time, switch moments marked", () => {
        assert.equal(renderSvg(report), `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="380" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="50" y1="320" x2="900" y2="320" stroke="black"/>
<line x1="50" y1="30" x2="50" y2="320" stroke="black"/>
<text x="46" y="34" font-size="10" text-anchor="end">100/s</text>
<text x="904" y="34" font-size="10">p95 20 ms</text>
<text x="900" y="334" font-size="10" text-anchor="end">10 s</text>
<line x1="475.0" y1="30" x2="475.0" y2="320" stroke="#888" stroke-width="1"/>
<text x="475.0" y="26" font-size="10" fill="#444">2 errors</text>
<path d="M50.0,30.0 L900.0,59.0" fill="none" stroke="#1f6feb" stroke-width="1.5"/>
<path d="M50.0,320.0 L900.0,320.0" fill="none" stroke="#1f6feb" stroke-width="1.5" stroke-dasharray="6 3"/>
<path d="M50.0,175.0 L900.0,146.0" fill="none" stroke="#1f6feb" stroke-width="1" stroke-dasharray="1 2"/>
<path d="M50.0,320.0 L900.0,291.0" fill="none" stroke="#2da44e" stroke-width="1.5"/>
<path d="M50.0,320.0 L900.0,314.2" fill="none" stroke="#2da44e" stroke-width="1.5" stroke-dasharray="6 3"/>
<path d="M900.0,30.0" fill="none" stroke="#2da44e" stroke-width="1" stroke-dasharray="1 2"/>
<text x="50" y="372" font-size="11">staging: blue / green; solid requests/s, dashed errors/s, dotted p95 (right axis); grey lines: switches</text>
</svg>
`);
    });
});
