// noteshub lock --reason "..." / noteshub unlock: deploys refused meanwhile, rollbacks never (cli/deployLock.ts).
import type { Command } from "../context";
import { deployLockOf } from "../deployLock";
import { PlanError } from "../plan";

export const lock: Command = {
    changes: true,
    async run(ctx) {
        const reason = typeof ctx.options.reason === "string" ? ctx.options.reason.trim() : "";
        if (!reason) throw new PlanError(`lock needs a reason the rota will read: noteshub lock --reason "incident 42: database failover" --stack ${ctx.stack.name}`);
        if (reason.length > 500 || /[\u0000-\u001f]/.test(reason)) throw new PlanError("--reason must be one line of at most 500 characters");
        const held = deployLockOf(await ctx.records.read());
        if (held) throw new PlanError(`stack ${ctx.stack.name} is already locked for deploys by ${held.who} since ${held.since}: "${held.reason}"; to change the reason: noteshub unlock, then lock again`);
        ctx.log("locked", `deploys locked: ${reason}`, true, { why: reason });
        await ctx.records.flush(); // a lock that did not reach the shared log must not look placed
        ctx.say(`stack ${ctx.stack.name}: deploys are refused until noteshub unlock (rollbacks still run): "${reason}"`);
        return { ok: true, json: { stack: ctx.stack.name, locked: true, reason } };
    },
};

export const unlock: Command = {
    changes: true,
    async run(ctx) {
        const held = deployLockOf(await ctx.records.read());
        if (!held) throw new PlanError(`stack ${ctx.stack.name} is not locked for deploys`);
        ctx.log("unlocked", `deploys unlocked (locked by ${held.who} since ${held.since}: "${held.reason}")`, true, { why: `operator command: noteshub unlock` });
        await ctx.records.flush();
        ctx.say(`stack ${ctx.stack.name}: deploys may go on again (it was locked by ${held.who} since ${held.since}: "${held.reason}")`);
        return { ok: true, json: { stack: ctx.stack.name, locked: false, was: held } };
    },
};
