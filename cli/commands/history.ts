// noteshub history: the stack's updates (pulumi stack history), newest first, with the colours and versions each declared.
import type { Command, Context } from "../context";
import { history } from "../stack";

interface HistoryRow {
    position: number;
    startTime: string;
    seconds: number;
    kind: string;
    result: string;
    activeColor?: string;
    traffic: number;
    blueVersion?: string;
    greenVersion?: string;
    message: string;
}

async function historyRows(ctx: Context): Promise<HistoryRow[]> {
    const entries = await history(ctx.stack);
    return entries.map((h, i) => {
        const v = (k: string) => h.config?.[`noteshub:${k}`]?.value;
        return {
            position: i + 1,
            startTime: new Date(h.startTime).toISOString(),
            seconds: (new Date(h.endTime).getTime() - new Date(h.startTime).getTime()) / 1000,
            kind: h.kind, result: h.result,
            activeColor: v("activeColor"), traffic: Number(v("traffic") ?? 100),
            blueVersion: v("blueVersion"), greenVersion: v("greenVersion"),
            message: h.message ?? "",
        };
    });
}

export const historyCmd: Command = {
    changes: false,
    async run(ctx) {
        const rows = await historyRows(ctx);
        if (!ctx.json) {
            const lines = rows.map((r) => `${String(r.position).padStart(3)}  ${r.startTime}  ${r.kind.padEnd(7)} ${r.result.padEnd(9)} ${String(r.activeColor).padEnd(5)} ${String(r.traffic).padStart(3)} %  blue ${r.blueVersion}  green ${r.greenVersion}  ${r.message}`);
            process.stdout.write(`  #  started                   kind    result    live  share  versions  message\n${lines.join("\n")}\n`);
        }
        return { ok: true, json: rows };
    },
};
