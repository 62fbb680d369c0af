// noteshub drill: the monthly rollback drill (cli/drill/drill.ts) through the deploy and rollback commands themselves.
import { configOf, type Command } from "../context";
import { PlanError } from "../plan";
import { drill as runDrill } from "../drill/drill";
import { refuseWhenLocked } from "../deployLock";
import { deploy } from "./deploy";
import { rollback } from "./rollback";

export const drill: Command = {
    changes: true,
    async run(ctx) {
        refuseWhenLocked(await ctx.records.read(), ctx.stack.name, "drill");
        // Its load goes through the balancer, which answers 503 to everyone in maintenance: nothing would be measured.
        if ((await configOf(ctx)).maintenance) throw new PlanError(`stack ${ctx.stack.name} is in maintenance (users get 503): the drill needs the balancer serving; noteshub maintenance off first`);
        return runDrill(ctx, { deploy: deploy.run, rollback: rollback.run });
    },
};
