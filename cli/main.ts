// noteshub: the operator's commands (issue #6), replacing the runbook's shell scripts. Every command declares its
// steps in stack config and runs `pulumi up` (Automation API), so `pulumi stack history` records each one.
//   noteshub status | release <version> | deploy <version> | rollback [--to <version> | --emergency] | history | revert <n>
//            | log | watch | drill | maintenance on|off | lock --reason <why> | unlock | promote | abort | retire
// Exit codes: 0 done; 1 the operation failed (what ran before was restored); 2 bad input (nothing changed);
// 3 another command holds the stack, or a deploy lock (noteshub lock) refuses a deploy.
import { parseArgs } from "node:util";
import { ConfigError } from "../infra/config";
import { BackendError, parseBackend } from "./backend";
import { BusyError, type Lock } from "./lock";
import { actor } from "./log";
import { recordsFor } from "./records";
import { S3Error } from "./s3";
import { PlanError } from "./plan";
import { commands } from "./commands";
import type { Context } from "./context";
import { cleanError } from "./run";
import { cancel, openStack } from "./stack";
import { syncWithLastUpdate } from "./sync";

const USAGE = `usage: noteshub <command> [--stack <name>] [--json]
  status                         live colour, traffic split, both colours' versions and health, schema, retained
  release <version> [--context <dir>]
                                 build <version> here, push it to app.repository's registry, record its digest
  release <version> --adopt      record the digest of <version> as the Docker host pulled it (nothing built)
  deploy <version>               the idle colour gets <version>, then traffic moves 10 -> 25 -> 50 -> 100 %
         [--steps 10,25,50,100] [--schema N] [--pause <seconds>]
         [--watch <seconds>]     ... then watch it at 100 % with the triggers armed (monitoring.watchSec; 0: skip)
         [--pause-at <share>]    ... or stop after that step, watched, until promote or abort
  promote [--pause-at <share>]   a paused deploy goes on to 100 % (or to the next pause)
  abort                          a paused deploy's traffic goes back to the colour that served before
  rollback                       immediate: all traffic back to the other colour
  rollback --to <version>        standard: that retained version gets all traffic, and the downs it needs run
  rollback --emergency           production down: restart the last known good colour, all traffic to it
           [--restore-data]      ... and restore the backups the release's own migrations took
  rollback ... --retire          ... then stop the colour rolled back from (runbook: stop the failed environment)
  history                        the stack's updates, newest first (position, time, result, colour, versions)
  revert <position>              re-apply the config of that update (a position from history), then up
  log [--last N]                 the deployment log: every command, step, trigger and restore (who, what, why, figures)
  watch [--for <seconds>]        watch both colours (rate, errors, p95, health, database) and roll back the live
        [--every <seconds>]      colour when a trigger fires (monitoring.triggers); --for 0 runs until stopped
        [--metrics-port <port>]  ... and serve the figures as Prometheus text on 127.0.0.1:<port>/metrics
  drill [--window <seconds>]     the monthly rollback drill (staging only), under synthetic load: a release failing
        [--out <dir>]            health, one answering errors, a deploy, an immediate and a standard rollback; then
        [--clients N]            the stack is put back; writes drill.md, drill.json, drill.svg
  maintenance on --message <text>  users get 503 with the message and Retry-After (no reload); deploys and
                 [--retry-after <seconds>]   rollbacks still run behind it (default Retry-After: 300)
  maintenance off                traffic served as declared again
  lock --reason <text>           refuse deploys (and the drill) until unlock; rollbacks still run; status shows it
  unlock                         deploys may go on again
  retire                         stop the idle colour (kept with its logs and image); a rollback starts it again
                                 (watch does it by itself retireAfterHours after the colours last moved)`;

export const EXIT = { ok: 0, failed: 1, badInput: 2, busy: 3 } as const;

async function main(argv: string[]): Promise<number> {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            allowPositionals: true,
            options: {
                stack: { type: "string", short: "s" },
                json: { type: "boolean" },
                to: { type: "string" },
                emergency: { type: "boolean" },
                "restore-data": { type: "boolean" },
                retire: { type: "boolean" },
                steps: { type: "string" },
                schema: { type: "string" },
                pause: { type: "string" },
                watch: { type: "string" },
                last: { type: "string" },
                for: { type: "string" },
                every: { type: "string" },
                "metrics-port": { type: "string" },
                timeline: { type: "boolean" },
                window: { type: "string" },
                out: { type: "string" },
                clients: { type: "string" },
                context: { type: "string" },
                adopt: { type: "boolean" },
                message: { type: "string" },
                "retry-after": { type: "string" },
                reason: { type: "string" },
                "pause-at": { type: "string" },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (err) {
        process.stderr.write(`noteshub: ${(err as Error).message}\n${USAGE}\n`);
        return EXIT.badInput;
    }
    const [name, ...args] = parsed.positionals;
    const command = commands[name as keyof typeof commands];
    if (parsed.values.help || !command) {
        process.stderr.write(`${name && !parsed.values.help ? `noteshub: unknown command ${JSON.stringify(name)}\n` : ""}${USAGE}\n`);
        return parsed.values.help ? EXIT.ok : EXIT.badInput;
    }
    const stackName = parsed.values.stack ?? process.env.NOTESHUB_STACK ?? "staging";
    const json = parsed.values.json === true;
    const t0 = Date.now();
    const say = (text: string) => process.stderr.write(`[noteshub +${((Date.now() - t0) / 1000).toFixed(1)}s] ${text}\n`);
    const line = [name, ...args, ...Object.entries(parsed.values).filter(([k]) => k !== "json" && k !== "stack").map(([k, v]) => (v === true ? `--${k}` : `--${k} ${v}`))].join(" ");
    let lock: Lock | undefined;
    let records: ReturnType<typeof recordsFor> | undefined;
    const log: Context["log"] = (event, what, ok, extra = {}) => {
        if (command.changes || ("records" in command && command.records)) records?.append({ stack: stackName, who: actor(), command: line, event, what, why: extra.why ?? `operator command: noteshub ${line}`, ok, ...extra });
    };
    try {
        // The lock and the log live beside the state: the file backend's directory, or the S3 backend's bucket.
        const backend = parseBackend(process.env.PULUMI_BACKEND_URL ?? (process.env.NOTESHUB_STATE_DIR && `file://${process.env.NOTESHUB_STATE_DIR}`));
        const r = (records = recordsFor(backend, stackName, actor, say));
        const stack = await openStack(stackName);
        // Shared state: the rest of the rota changes the stack from their own clones; plan (and show status) from
        // what runs, taken under the lock. A status while a command holds the stack leaves this clone's file to it.
        const sync = async () => {
            if (backend.kind !== "s3") return;
            const took = await syncWithLastUpdate(stack, await r.read());
            if (took.length) say(`Pulumi.${stackName}.yaml was behind the stack; taken from its last update:\n  ${took.join("\n  ")}`);
        };
        const lockAndSync = async (what: string) => {
            const l = await r.lock(what);
            try {
                if (l.tookOver?.exited !== false) {
                    if (l.tookOver) {
                        say(`an earlier \`noteshub ${l.tookOver.command}\` (pid ${l.tookOver.pid} on ${l.tookOver.host}) died; clearing the stack lock its pulumi up may have left`);
                        await cancel(stack);
                    }
                } else {
                    // Its lease ran out, but it may only have slept: Pulumi's own lock (if its up holds one) stays, so
                    // two ups never run at once; pulumi says so if it is held.
                    say(`took over the lock of \`noteshub ${l.tookOver.command}\` (${(l.tookOver as { who?: string }).who ?? l.tookOver.host}, pid ${l.tookOver.pid} on ${l.tookOver.host}): not renewed for longer than its lease. If its pulumi up is still running, pulumi refuses a second one; if it is gone for good: npm run pulumi -- cancel --stack ${stackName}`);
                }
                await sync();
            } catch (err) {
                await l.release();
                throw err;
            }
            return l;
        };
        if (command.changes) lock = await lockAndSync(line);
        else if (name === "status" && !(await r.held())) await sync();
        const pauseLock = async () => {
            await r.flush();
            await lock?.release();
            lock = undefined;
            return async () => {
                lock = await lockAndSync(line);
            };
        };
        const ctx: Context = { stack, args, options: parsed.values, say, json, log, records: r, lock: lockAndSync, lockLost: () => lock?.lost?.() === true, pauseLock: command.changes ? pauseLock : undefined };
        const result = await command.run(ctx);
        if (json) process.stdout.write(JSON.stringify(result.json, null, 2) + "\n");
        return result.ok ? EXIT.ok : EXIT.failed;
    } catch (err) {
        const bad = err instanceof PlanError || err instanceof ConfigError || err instanceof BackendError;
        const code = err instanceof BusyError ? EXIT.busy : bad ? EXIT.badInput : EXIT.failed;
        const message = bad || err instanceof BusyError || err instanceof S3Error ? (err as Error).message : cleanError(err);
        process.stderr.write(`noteshub ${name}: ${message}${bad ? "\nNothing was changed." : ""}\n`);
        if (json) process.stdout.write(JSON.stringify({ ok: false, command: line, error: message, exitCode: code }, null, 2) + "\n");
        return code;
    } finally {
        // Every log entry is written before the lock is let go (the next holder's entries come after this one's).
        await records?.flush().catch((err) => process.stderr.write(`noteshub ${name}: the deployment log (${records!.where}) was not written: ${(err as Error).message}\n`));
        await Promise.resolve(lock?.release()).catch((err) => process.stderr.write(`noteshub ${name}: the stack lock was not let go (${(err as Error).message}); it is taken over once its lease runs out\n`));
    }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
