// The drill's report (runbook "Monthly Rollback Drill": "reports results"): Markdown for people, JSON for tools, and
// an SVG picture: panels of requests, errors and p95 per colour over one time axis, with the drill's moments marked. Pure, so the
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

/** A round step for about `n` ticks up to `max` (1, 2 or 5 times a power of ten). */
export function tickStep(max: number, n = 4): number {
    const raw = Math.max(max, 1e-9) / n;
    const p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

/** A tick value without float noise (0.30000000000000004 is 0.3). */
const fmt = (v: number) => String(Number(v.toFixed(6)));

interface Panel {
    readonly title: string;
    readonly unit: string;
    readonly pick: (p: Point["blue"]) => number | undefined;
}

/**
 * Three small panels over one time axis: requests/s, errors/s and p95 per colour (blue and green), each with its own
 * y scale and ticks, time ticks in seconds under the last, and the drill's moments (switches, triggers, steps) as
 * numbered lines across all three with their labels in a key below, so none covers another.
 */
export function renderSvg(r: Pick<DrillReport, "timeline" | "marks" | "stack">): string {
    const W = 960, L = 64, R = 24, TOP = 50, PH = 120, GAP = 34, AXIS = 30;
    const panels: Panel[] = [
        { title: "requests/s", unit: "/s", pick: (c) => c.rate },
        { title: "errors/s (5xx and failed connections)", unit: "/s", pick: (c) => c.errors },
        { title: "p95 response time", unit: " ms", pick: (c) => c.p95Ms },
    ];
    const colour = { blue: "#1f6feb", green: "#2da44e" } as const;
    const end = Math.max(1, ...r.timeline.map((p) => p.t), ...r.marks.map((m) => m.t));
    const x = (t: number) => (L + ((W - L - R) * t) / end).toFixed(1);
    const bottom = TOP + panels.length * PH + (panels.length - 1) * GAP;
    const keyRows = Math.ceil(r.marks.length / 2);
    const H = bottom + AXIS + 26 + keyRows * 16 + 8;
    const out: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
        `<rect width="100%" height="100%" fill="white"/>`,
        `<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(r.stack)}: rollback drill</text>`,
        ...(["blue", "green"] as const).flatMap((c, i) => [
            `<line x1="${W - R - 150 + i * 80}" y1="12" x2="${W - R - 130 + i * 80}" y2="12" stroke="${colour[c]}" stroke-width="2.5"/>`,
            `<text x="${W - R - 125 + i * 80}" y="16">${c}</text>`,
        ]),
    ];
    panels.forEach((panel, k) => {
        const top = TOP + k * (PH + GAP);
        const values = r.timeline.flatMap((p) => [panel.pick(p.blue), panel.pick(p.green)]).filter((v): v is number => v !== undefined);
        const step = tickStep(Math.max(...values, 0) || 1);
        const max = Math.max(step, Math.ceil(Math.max(...values, 0) / step) * step);
        const y = (v: number) => (top + PH * (1 - v / max)).toFixed(1);
        out.push(`<text x="${L}" y="${top - 6}" font-weight="bold">${esc(panel.title)}</text>`);
        for (let v = 0; v <= max + step / 2; v += step) {
            out.push(`<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="${v === 0 ? "#000" : "#e4e4e4"}"/>`);
            out.push(`<text x="${L - 6}" y="${(Number(y(v)) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}${v === max ? panel.unit : ""}</text>`);
        }
        out.push(`<line x1="${L}" y1="${top}" x2="${L}" y2="${top + PH}" stroke="#000"/>`);
        for (const c of ["blue", "green"] as const) {
            // A point without a value (no p95: the colour had no requests) breaks the line rather than bridging it.
            let pen = "M";
            const d = r.timeline.flatMap((p) => {
                const v = panel.pick(p[c]);
                if (v === undefined) return (pen = "M"), [];
                const seg = `${pen}${x(p.t)},${y(v)}`;
                pen = "L";
                return [seg];
            });
            if (d.length) out.push(`<path d="${d.join(" ")}" fill="none" stroke="${colour[c]}" stroke-width="1.5"/>`);
        }
    });
    // The moments, across every panel, numbered; their labels in the key.
    r.marks.forEach((m, i) => {
        out.push(`<line x1="${x(m.t)}" y1="${TOP - 20}" x2="${x(m.t)}" y2="${bottom}" stroke="#888" stroke-dasharray="3 3"/>`);
        out.push(`<text x="${x(m.t)}" y="${TOP - 23}" text-anchor="middle" fill="#444" font-size="10">${i + 1}</text>`);
    });
    const tStep = tickStep(end, 8);
    for (let t = 0; t <= end + 1e-9; t += tStep) {
        out.push(`<line x1="${x(t)}" y1="${bottom}" x2="${x(t)}" y2="${bottom + 4}" stroke="#000"/>`);
        out.push(`<text x="${x(t)}" y="${bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
    }
    out.push(`<text x="${W - R}" y="${bottom + AXIS}" text-anchor="end">seconds since the drill began</text>`);
    r.marks.forEach((m, i) => {
        const col = i % 2, row = Math.floor(i / 2);
        out.push(`<text x="${L + col * 440}" y="${bottom + AXIS + 20 + row * 16}" fill="#444">${i + 1}. ${fmt(Math.round(m.t * 10) / 10)} s: ${esc(m.label)}</text>`);
    });
    out.push(`</svg>`, "");
    return out.join("\n");
}

const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
