// A throwaway stack of this project for end-to-end tests: its own state directory, passphrase, ports and Docker
// names (noteshub-<stack>-*), driven through the real pulumi CLI exactly as a user would.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, cpSync, existsSync, linkSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stagingValues } from "./config";

export const ROOT = resolve(__dirname, "../..");

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    ms: number;
}

export interface CliRun extends RunResult {
    json: any;
}

export function freePort(): Promise<number> {
    return new Promise((res, rej) => {
        const s = createServer();
        s.once("error", rej);
        s.listen(0, "127.0.0.1", () => {
            const { port } = s.address() as { port: number };
            s.close(() => res(port));
        });
    });
}

export function docker(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

export function dockerOk(...args: string[]): boolean {
    return spawnSync("docker", args, { stdio: "ignore" }).status === 0;
}

/** Removes every container, volume, network and image tag a (possibly crashed) earlier run of this stack left. */
export function purgeDockerLeftovers(stack: string): void {
    const label = `io.noteshub.stack=${stack}`;
    const ids = (kind: string[]) => docker(...kind, "-q", "--filter", `label=${label}`).split("\n").filter(Boolean);
    const containers = ids(["ps", "-a"]);
    if (containers.length) docker("rm", "-f", "-v", ...containers);
    const volumes = ids(["volume", "ls"]);
    if (volumes.length) docker("volume", "rm", "-f", ...volumes);
    const networks = ids(["network", "ls"]);
    if (networks.length) docker("network", "rm", ...networks);
    // What the stack built went under its own repository (infra/names.ts image): nobody else's tag is touched.
    const images = docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=noteshub-${stack.toLowerCase()}/*`).split("\n").filter(Boolean);
    if (images.length) spawnSync("docker", ["rmi", ...images], { stdio: "ignore" });
}

/**
 * A failed pulumi run as an error message that leads with why: its Diagnostics (at the end of a long progress
 * output, which a CI report cuts) and stderr first, then the whole output.
 */
export function pulumiFailure(what: string, r: RunResult): string {
    const at = r.stdout.indexOf("Diagnostics:");
    const why = at >= 0 ? r.stdout.slice(at) : "";
    return `${what} exited ${r.code}\n${why}\n${r.stderr}\n--- its whole output:\n${r.stdout}`;
}

export class TestStack {
    readonly stateDir = mkdtempSync(join(tmpdir(), "noteshub-e2e-state-"));
    readonly env: NodeJS.ProcessEnv;
    readonly configFile: string;

    /** `env` adds to or overrides the environment its pulumi and noteshub runs get (another backend, say). */
    constructor(readonly name: string, config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
        this.env = {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${this.stateDir}`,
            // Its own workspace, so a test never changes which stack the user has selected.
            PULUMI_HOME: join(this.stateDir, "home"),
            PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            PULUMI_SUPPRESS_COPILOT_LINK: "true",
            NO_COLOR: "1",
            ...env,
        };
        this.configFile = join(ROOT, `Pulumi.${name}.yaml`);
        const lines = ["config:"];
        for (const [k, v] of Object.entries(config)) lines.push(`  noteshub:${k}: ${JSON.stringify(v)}`);
        writeFileSync(this.configFile, lines.join("\n") + "\n");
    }

    /** Runs pulumi on this stack; `cwd` lets a test run another copy of the program (an older one). */
    pulumi(...args: string[]): RunResult {
        return this.pulumiIn(ROOT, ...args);
    }

    pulumiIn(cwd: string, ...args: string[]): RunResult {
        return this.pulumiWith({}, cwd, ...args);
    }

    /** Runs pulumi with extra environment, e.g. NOTESHUB_ALLOW_OUTAGE=1 for a destroy while the stack serves. */
    pulumiWith(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]): RunResult {
        const start = Date.now();
        const r = spawnSync("pulumi", [...args, "--stack", this.name, "--non-interactive"], { cwd, env: { ...this.env, ...env }, encoding: "utf8", maxBuffer: 64 << 20 });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - start };
    }

    /** Runs pulumi and throws with its output when it fails. */
    must(...args: string[]): RunResult {
        const r = this.pulumi(...args);
        if (r.code !== 0) throw new Error(pulumiFailure(`pulumi ${args.join(" ")}`, r));
        return r;
    }

    init(secrets: Record<string, string>): void {
        const r = spawnSync("pulumi", ["stack", "init", this.name, "--secrets-provider", "passphrase", "--non-interactive"], { cwd: ROOT, env: this.env, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`stack init: ${r.stderr}`);
        for (const [path, value] of Object.entries(secrets)) this.must("config", "set", "--secret", "--path", path, value);
    }

    /** `pulumi up` as the project's commands run it: with the policy pack (unless the test names another). */
    up(...extra: string[]): RunResult {
        const pack = extra.some((a) => a.startsWith("--policy-pack")) ? [] : ["--policy-pack", join(ROOT, "policy")];
        return this.pulumi("up", "--yes", "--skip-preview", ...pack, ...extra);
    }

    /**
     * Starts `noteshub <args> --json` on this stack, as an operator would (its own state and log directory); `done`
     * resolves with the exit code, the output and the parsed JSON result.
     */
    noteshub(...args: string[]): { child: ChildProcess; done: Promise<CliRun> } {
        return this.noteshubIn(ROOT, ...args);
    }

    /** `noteshub` from another copy of the project (programCopy), e.g. one whose app source was changed. */
    noteshubIn(root: string, ...args: string[]): { child: ChildProcess; done: Promise<CliRun> } {
        return this.noteshubWith({}, root, ...args);
    }

    /** `noteshub` with extra environment: another operator (NOTESHUB_ACTOR), with a Pulumi home of their own. */
    noteshubWith(env: NodeJS.ProcessEnv, root: string, ...args: string[]): { child: ChildProcess; done: Promise<CliRun> } {
        const start = Date.now();
        const child = spawn("node", ["--import", "tsx", join(root, "cli/main.ts"), ...args, "--stack", this.name, "--json"], {
            cwd: root, env: { ...this.env, NOTESHUB_STATE_DIR: this.stateDir, NOTESHUB_ACTOR: "e2e@ci", ...env },
        });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d) => (stdout += d));
        child.stderr!.on("data", (d) => (stderr += d));
        const done = new Promise<CliRun>((resolve) => child.on("close", (code) => {
            let json: any;
            try { json = JSON.parse(stdout); } catch { json = undefined; }
            resolve({ code: code ?? -1, stdout, stderr, json, ms: Date.now() - start });
        }));
        return { child, done };
    }

    /** The deployment log `noteshub` keeps for this stack. */
    get logFile(): string {
        return join(this.stateDir, "log", `${this.name}.jsonl`);
    }

    outputs(): Record<string, any> {
        return JSON.parse(this.must("stack", "output", "--json", "--show-secrets").stdout);
    }

    /** Destroys what the stack declared, then removes the stack, its state, its config file and its data volumes. */
    dispose(): void {
        // The stack serves until now: its destroy says so, as a user's must (the guard refuses it otherwise).
        this.pulumiWith({ NOTESHUB_ALLOW_OUTAGE: "1" }, ROOT, "destroy", "--yes", "--skip-preview");
        this.pulumi("stack", "rm", "--yes", "--force");
        purgeDockerLeftovers(this.name);
        rmSync(this.configFile, { force: true });
        rmSync(this.stateDir, { recursive: true, force: true });
    }
}

/** `noteshub <args> --json` on a suite's stack (made in its before()): `cli` gives the run, `must` asserts exit 0. */
export function noteshubOn(stack: () => TestStack): { cli: (...args: string[]) => Promise<CliRun>; must: (...args: string[]) => Promise<CliRun> } {
    const cli = (...args: string[]) => stack().noteshub(...args).done;
    const must = async (...args: string[]) => {
        const r = await cli(...args);
        assert.equal(r.code, 0, `noteshub ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
        return r;
    };
    return { cli, must };
}

/**
 * A copy of this program in a temporary directory, with the stack's config file, for tests that run another version
 * of it (an older one without a migration, or one with an extra migration). `change` edits the copy.
 */
export function programCopy(stack: string, change: (dir: string) => void): string {
    const dir = mkdtempSync(join(tmpdir(), "noteshub-program-"));
    for (const p of ["Pulumi.yaml", "package.json", "tsconfig.json", "infra", "migrations", "images", "examples", "cli", "policy", `Pulumi.${stack}.yaml`]) {
        // The FerretDB binary is a hard link into the cache: linked again, not copied (80 MB).
        cpSync(join(ROOT, p), join(dir, p), { recursive: true, filter: (src) => !src.endsWith("images/ferretdb/ferretdb") });
    }
    const ferretdb = join(ROOT, "images/ferretdb/ferretdb");
    if (existsSync(ferretdb)) {
        try {
            linkSync(ferretdb, join(dir, "images/ferretdb/ferretdb"));
        } catch {
            copyFileSync(ferretdb, join(dir, "images/ferretdb/ferretdb")); // another filesystem
        }
    }
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    change(dir);
    return dir;
}

/** GET/POST through the balancer with a fresh connection each time. */
export async function http(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
    const res = await fetch(url, { ...init, headers: { connection: "close", ...(init?.headers ?? {}) } });
    const text = await res.text();
    let body: any = text;
    try {
        body = JSON.parse(text);
    } catch {
        /* not JSON */
    }
    return { status: res.status, headers: res.headers, body };
}

/**
 * A staging-shaped stack (stagingValues plus `overrides`) up on a free port, for an e2e suite's before(): an earlier
 * run's leftovers purged first; a failed `up` disposes of it and throws with pulumi's output.
 */
export async function startTestStack(name: string, overrides: Record<string, unknown> = {}, secrets: Record<string, string> = {}): Promise<{ stack: TestStack; url: string }> {
    purgeDockerLeftovers(name);
    const port = await freePort();
    const stack = new TestStack(name, stagingValues({ loadBalancer: { port }, ...overrides }));
    stack.init({ "database.password": "e2e-password-0123", ...secrets });
    const r = stack.up();
    if (r.code !== 0) {
        stack.dispose();
        throw new Error(pulumiFailure(`pulumi up of ${name}`, r));
    }
    return { stack, url: `http://127.0.0.1:${port}` };
}
