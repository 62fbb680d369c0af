// noteshub watch: the triggers armed on the live colour, rolling it back on their own (cli/watch.ts).
import type { Command } from "../context";
import { execute } from "../execute";
import { watch as watchStack } from "../watch";

export const watch: Command = {
    changes: false,
    records: true,
    run: (ctx) => watchStack(ctx, execute),
};
