// noteshub revert <position>: the config of an earlier update (from noteshub history), reached through the idle
// colour like any change of colours and versions.
import { configOf, type Command, type Context } from "../context";
import { execute } from "../execute";
import { PlanError, planRevert, type Step } from "../plan";
import { declaredOf, history, readConfig, readConfigFile, writeChange, writeConfigFile, writeHistoric } from "../stack";

export const revert: Command = {
    changes: true,
    async run(ctx) {
        const position = Number(ctx.args[0]);
        const entries = await history(ctx.stack);
        if (!Number.isInteger(position) || position < 1 || position > entries.length) {
            throw new PlanError(`revert needs an update's position from noteshub history (1 = newest, up to ${entries.length}), got ${JSON.stringify(ctx.args[0] ?? "")}`);
        }
        const entry = entries[position - 1];
        if (entry.kind !== "update") throw new PlanError(`update ${position} is a ${entry.kind}, not an update; pick an update from noteshub history`);
        const what = `revert to update ${position}`;
        ctx.say(`${what} (${new Date(entry.startTime).toISOString()}, ${entry.result})`);
        const cfg = await configOf(ctx);
        // The whole config of that update, then the declared keys as they run now: the plan's steps move those,
        // through the idle colour (issue #12). Bad input (it doesn't parse, or can't be reached safely) changes nothing.
        const before = readConfigFile(ctx.stack);
        let steps: Step[];
        let kept: string[];
        try {
            kept = await writeHistoric(ctx.stack, entry.config as never);
            steps = planRevert(declaredOf(cfg), declaredOf(await readConfig(ctx.stack)), what);
            await writeChange(ctx.stack, declaredOf(cfg));
        } catch (err) {
            writeConfigFile(ctx.stack, before);
            throw err;
        }
        if (kept.length) ctx.say(`kept as they are now (they hold secrets): ${kept.join(", ")}`);
        const result = await execute(ctx, cfg, what, steps);
        if (!result.ok) await revertBack(ctx, before, what);
        return result;
    },
};

/**
 * A revert that failed brought back that update's other settings (app.env, ...) too: the whole config goes back to
 * what ran before it, the way a revert goes (through the idle colour), from where the failed step left traffic.
 */
async function revertBack(ctx: Context, before: string, what: string): Promise<void> {
    const now = declaredOf(await readConfig(ctx.stack)); // what runs: the failed step's own restore wrote it
    writeConfigFile(ctx.stack, before);
    const cfg = await readConfig(ctx.stack);
    await writeChange(ctx.stack, now); // until the steps below move them, the colours and versions as they run
    let back: Step[];
    try {
        back = planRevert(now, declaredOf(cfg), `back to what ran before ${what}`);
    } catch (err) {
        ctx.say(`${what} failed; its other settings are back to what ran before, the colours and versions are declared as they run (${(err as Error).message}); run noteshub status`);
        return;
    }
    ctx.say(`${what} failed: back to what ran before it`);
    await execute(ctx, cfg, `back to what ran before ${what}`, back);
}
