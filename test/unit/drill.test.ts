// The drill's report renderers, exactly (the numbers in the picture are checked by hand: blue's 100 req/s at t=0 is
// the top of the first panel, (64, 50); its p95 of 10 ms, half the third panel's 20 ms, is y=418 (358 + 120/2); the
// mark at 5 s of 10 is x=500, halfway between 64 and 936; errors tick every 0.5/s up to green's 2/s).
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

    it("SVG: panels of requests/s, errors/s and p95 per colour over one time axis, with ticks, a legend and the moments numbered", () => {
        assert.equal(renderSvg(report), `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="558" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="64" y="16" font-size="13" font-weight="bold">staging: rollback drill</text>
<line x1="786" y1="12" x2="806" y2="12" stroke="#1f6feb" stroke-width="2.5"/>
<text x="811" y="16">blue</text>
<line x1="866" y1="12" x2="886" y2="12" stroke="#2da44e" stroke-width="2.5"/>
<text x="891" y="16">green</text>
<text x="64" y="44" font-weight="bold">requests/s</text>
<line x1="64" y1="170.0" x2="936" y2="170.0" stroke="#000"/>
<text x="58" y="174.0" text-anchor="end">0</text>
<line x1="64" y1="110.0" x2="936" y2="110.0" stroke="#e4e4e4"/>
<text x="58" y="114.0" text-anchor="end">50</text>
<line x1="64" y1="50.0" x2="936" y2="50.0" stroke="#e4e4e4"/>
<text x="58" y="54.0" text-anchor="end">100/s</text>
<line x1="64" y1="50" x2="64" y2="170" stroke="#000"/>
<path d="M64.0,50.0 L936.0,62.0" fill="none" stroke="#1f6feb" stroke-width="1.5"/>
<path d="M64.0,170.0 L936.0,158.0" fill="none" stroke="#2da44e" stroke-width="1.5"/>
<text x="64" y="198" font-weight="bold">errors/s (5xx and failed connections)</text>
<line x1="64" y1="324.0" x2="936" y2="324.0" stroke="#000"/>
<text x="58" y="328.0" text-anchor="end">0</text>
<line x1="64" y1="294.0" x2="936" y2="294.0" stroke="#e4e4e4"/>
<text x="58" y="298.0" text-anchor="end">0.5</text>
<line x1="64" y1="264.0" x2="936" y2="264.0" stroke="#e4e4e4"/>
<text x="58" y="268.0" text-anchor="end">1</text>
<line x1="64" y1="234.0" x2="936" y2="234.0" stroke="#e4e4e4"/>
<text x="58" y="238.0" text-anchor="end">1.5</text>
<line x1="64" y1="204.0" x2="936" y2="204.0" stroke="#e4e4e4"/>
<text x="58" y="208.0" text-anchor="end">2/s</text>
<line x1="64" y1="204" x2="64" y2="324" stroke="#000"/>
<path d="M64.0,324.0 L936.0,324.0" fill="none" stroke="#1f6feb" stroke-width="1.5"/>
<path d="M64.0,324.0 L936.0,204.0" fill="none" stroke="#2da44e" stroke-width="1.5"/>
<text x="64" y="352" font-weight="bold">p95 response time</text>
<line x1="64" y1="478.0" x2="936" y2="478.0" stroke="#000"/>
<text x="58" y="482.0" text-anchor="end">0</text>
<line x1="64" y1="448.0" x2="936" y2="448.0" stroke="#e4e4e4"/>
<text x="58" y="452.0" text-anchor="end">5</text>
<line x1="64" y1="418.0" x2="936" y2="418.0" stroke="#e4e4e4"/>
<text x="58" y="422.0" text-anchor="end">10</text>
<line x1="64" y1="388.0" x2="936" y2="388.0" stroke="#e4e4e4"/>
<text x="58" y="392.0" text-anchor="end">15</text>
<line x1="64" y1="358.0" x2="936" y2="358.0" stroke="#e4e4e4"/>
<text x="58" y="362.0" text-anchor="end">20 ms</text>
<line x1="64" y1="358" x2="64" y2="478" stroke="#000"/>
<path d="M64.0,418.0 L936.0,406.0" fill="none" stroke="#1f6feb" stroke-width="1.5"/>
<path d="M936.0,358.0" fill="none" stroke="#2da44e" stroke-width="1.5"/>
<line x1="500.0" y1="30" x2="500.0" y2="478" stroke="#888" stroke-dasharray="3 3"/>
<text x="500.0" y="27" text-anchor="middle" fill="#444" font-size="10">1</text>
<line x1="64.0" y1="478" x2="64.0" y2="482" stroke="#000"/>
<text x="64.0" y="494" text-anchor="middle">0</text>
<line x1="238.4" y1="478" x2="238.4" y2="482" stroke="#000"/>
<text x="238.4" y="494" text-anchor="middle">2</text>
<line x1="412.8" y1="478" x2="412.8" y2="482" stroke="#000"/>
<text x="412.8" y="494" text-anchor="middle">4</text>
<line x1="587.2" y1="478" x2="587.2" y2="482" stroke="#000"/>
<text x="587.2" y="494" text-anchor="middle">6</text>
<line x1="761.6" y1="478" x2="761.6" y2="482" stroke="#000"/>
<text x="761.6" y="494" text-anchor="middle">8</text>
<line x1="936.0" y1="478" x2="936.0" y2="482" stroke="#000"/>
<text x="936.0" y="494" text-anchor="middle">10</text>
<text x="936" y="508" text-anchor="end">seconds since the drill began</text>
<text x="64" y="528" fill="#444">1. 5 s: 2 errors</text>
</svg>
`);
    });
});
