// noteshub retire: stop the idle colour now (cli/retire.ts). Refused during a shift, and under a deploy lock (an
// incident is no time to take away the colour a rollback would go to).
import { configOf, type Command } from "../context";
import { refuseWhenLocked } from "../deployLock";
import { PlanError } from "../plan";
import { retireIdle } from "../retire";

export const retire: Command = {
    changes: true,
    async run(ctx) {
        if (ctx.args.length) throw new PlanError(`retire takes no arguments (it stops the idle colour), got ${ctx.args.join(" ")}`);
        refuseWhenLocked(await ctx.records.read(), ctx.stack.name, "retire");
        return retireIdle(ctx, await configOf(ctx));
    },
};
