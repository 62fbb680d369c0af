// The operator's commands, one per file over the shared context (../context.ts); nothing here is imported back.
import type { Command } from "../context";
import { release } from "../release";
import { deploy } from "./deploy";
import { drill } from "./drill";
import { historyCmd } from "./history";
import { lock, unlock } from "./lock";
import { log } from "./log";
import { maintenance } from "./maintenance";
import { abort, promote } from "./promote";
import { retire } from "./retire";
import { revert } from "./revert";
import { rollback } from "./rollback";
import { status } from "./status";
import { watch } from "./watch";

export const commands = { status, release, deploy, rollback, history: historyCmd, revert, log, watch, drill, maintenance, lock, unlock, promote, abort, retire } satisfies Record<string, Command>;
