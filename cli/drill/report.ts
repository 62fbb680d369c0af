// The drill's report (runbook "Monthly Rollback Drill": "reports results"): Markdown for people, JSON for tools, and
// an SVG picture of requests, errors and p95 per colour over time with the switch moments marked. Pure, so the
// output is asserted exactly.

export interface DrillStep {
    readonly name: string;
    /** What must happen, in words. */
    readonly expected: string;
    readonly passed: boolean;
    /** What did happen. */
    readonly outcome: string;
    readonly startedAt: number;
    readonly endedAt: number;
    /** First failing signal to the trigger or gate's verdict, s (undefined: nothing to detect). */
    readonly detectSec?: number;
    /** First failing signal (or the command) to the last request the bad colour answered, s. */
    readonly recoverSec?: number;
    /** Requests the synthetic users sent during the step, and how many failed. */
    readonly requests: number;
    readonly failed: number;
}

export interface Counts {
    readonly documents: number;
    readonly uploads: number;
}

export interface Point {
    /** Seconds since the drill began. */
    readonly t: number;
    readonly blue: { rate: number; errors: number; p95Ms?: number };
    readonly green: { rate: number; errors: number; p95Ms?: number };
}

export interface Mark {
    readonly t: number;
    readonly label: string;
}

export interface DrillReport {
    readonly stack: string;
    readonly startedAt: string;
    readonly seconds: number;
    readonly passed: boolean;
    readonly versions: { readonly good: string; readonly release: string };
    readonly steps: DrillStep[];
    readonly before: Counts;
    readonly after: Counts;
    /** The drill's own notes still there after every rollback (created before, checked by id). */
    readonly notesKept: { readonly created: number; readonly found: number };
    readonly healthAfter: string;
    readonly timeline: Point[];
    readonly marks: Mark[];
}

const s1 = (n: number | undefined) => (n === undefined ? "-" : `${n.toFixed(1)} s`);

export function renderMarkdown(r: DrillReport): string {
    const lines = [
        `# Rollback drill: ${r.stack}, ${r.startedAt}`,
        "",
        `**${r.passed ? "PASSED" : "FAILED"}** in ${r.seconds.toFixed(0)} s. Good version ${r.versions.good}, release under drill ${r.versions.release}.`,
        "",
        "| Step | Expected | Result | Detect | Recover | Requests | Failed |",
        "|---|---|---|---|---|---|---|",
        ...r.steps.map((s) => `| ${s.name} | ${s.expected} | ${s.passed ? "pass" : "FAIL"}: ${s.outcome} | ${s1(s.detectSec)} | ${s1(s.recoverSec)} | ${s.requests} | ${s.failed} |`),
        "",
        "| Data | Before | After |",
        "|---|---|---|",
        `| Documents (notes) | ${r.before.documents} | ${r.after.documents} |`,
        `| Uploaded files | ${r.before.uploads} | ${r.after.uploads} |`,
        `| Drill notes found by id | ${r.notesKept.created} | ${r.notesKept.found} |`,
        "",
        `Health after the drill: ${r.healthAfter}.`,
        "",
        "![requests, errors and p95 per colour](drill.svg)",
        "",
    ];
    return lines.join("\n");
}

/** Requests/s (solid), errors/s (dashed) and p95 (dotted, right axis) per colour; switch moments as grey lines. */
export function renderSvg(r: Pick<DrillReport, "timeline" | "marks" | "stack">): string {
    const W = 960, H = 360, L = 50, R = 60, T = 30, B = 40;
    const end = Math.max(1, ...r.timeline.map((p) => p.t), ...r.marks.map((m) => m.t));
    const maxRate = Math.max(1, ...r.timeline.flatMap((p) => [p.blue.rate, p.green.rate]));
    const maxP95 = Math.max(1, ...r.timeline.flatMap((p) => [p.blue.p95Ms ?? 0, p.green.p95Ms ?? 0]));
    const x = (t: number) => (L + ((W - L - R) * t) / end).toFixed(1);
    const y = (v: number, max: number) => (T + (H - T - B) * (1 - v / max)).toFixed(1);
    const path = (pick: (p: Point) => number | undefined, max: number) =>
        r.timeline.filter((p) => pick(p) !== undefined).map((p, i) => `${i ? "L" : "M"}${x(p.t)},${y(pick(p)!, max)}`).join(" ");
    const colour = { blue: "#1f6feb", green: "#2da44e" } as const;
    const series = (["blue", "green"] as const).flatMap((c) => [
        `<path d="${path((p) => p[c].rate, maxRate)}" fill="none" stroke="${colour[c]}" stroke-width="1.5"/>`,
        `<path d="${path((p) => p[c].errors, maxRate)}" fill="none" stroke="${colour[c]}" stroke-width="1.5" stroke-dasharray="6 3"/>`,
        `<path d="${path((p) => p[c].p95Ms, maxP95)}" fill="none" stroke="${colour[c]}" stroke-width="1" stroke-dasharray="1 2"/>`,
    ]);
    const marks = r.marks.flatMap((m, i) => [
        `<line x1="${x(m.t)}" y1="${T}" x2="${x(m.t)}" y2="${H - B}" stroke="#888" stroke-width="1"/>`,
        `<text x="${x(m.t)}" y="${T - 4 - (i % 2) * 12}" font-size="10" fill="#444">${esc(m.label)}</text>`,
    ]);
    return [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 20}" font-family="sans-serif">`,
        `<rect width="100%" height="100%" fill="white"/>`,
        `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
        `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
        `<text x="${L - 4}" y="${T + 4}" font-size="10" text-anchor="end">${Math.round(maxRate)}/s</text>`,
        `<text x="${W - R + 4}" y="${T + 4}" font-size="10">p95 ${Math.round(maxP95)} ms</text>`,
        `<text x="${W - R}" y="${H - B + 14}" font-size="10" text-anchor="end">${Math.round(end)} s</text>`,
        ...marks,
        ...series,
        `<text x="${L}" y="${H + 12}" font-size="11">${esc(r.stack)}: blue / green; solid requests/s, dashed errors/s, dotted p95 (right axis); grey lines: switches</text>`,
        `</svg>`,
        "",
    ].join("\n");
}

const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
