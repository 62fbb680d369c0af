// noteshub log: the deployment log (who, what, why, figures), oldest of the last N first.
import type { Command } from "../context";

export const log: Command = {
    changes: false,
    async run(ctx) {
        const entries = await ctx.records.read();
        const last = Number(ctx.options.last ?? 50);
        const shown = entries.slice(-last);
        if (!ctx.json) {
            process.stdout.write(shown.map((e) => `${e.time}  ${e.who}  ${e.ok ? "ok    " : "FAILED"}  ${e.event.padEnd(16)} ${e.what}${e.seconds !== undefined ? ` (${e.seconds.toFixed(1)} s)` : ""}${e.error ? `\n    ${e.error.split("\n")[0]}` : ""}`).join("\n") + (shown.length ? "\n" : `no entries in ${ctx.records.where}\n`));
        }
        return { ok: true, json: shown };
    },
};
