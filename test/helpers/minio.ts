// An S3 server for the shared-state tests (issue #14, shared/spec/toolchain.md): MinIO built by setup.sh --tests,
// on loopback with a data directory of its own, and a bucket made for the test. Pulumi's S3 backend keeps the
// stacks there, and noteshub its lock and log.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { AwsClient } from "aws4fetch";
import { freePort } from "./stack";

export interface TestS3 {
    readonly bucket: string;
    /** The backend URL Pulumi and noteshub take (PULUMI_BACKEND_URL). */
    readonly url: string;
    /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for it. */
    readonly env: NodeJS.ProcessEnv;
    stop(): Promise<void>;
}

export async function startMinio(bucket = "noteshub-state"): Promise<TestS3> {
    const bin = process.env.NOTESHUB_MINIO;
    if (!bin) throw new Error("NOTESHUB_MINIO is not set: run the tests with npm test (setup.sh --tests builds MinIO)");
    const dir = mkdtempSync("/var/tmp/noteshub-minio-");
    const port = await freePort();
    const console = await freePort();
    const user = "rota-access-key";
    const password = "rota-secret-key-0123";
    const child: ChildProcess = spawn(bin, ["server", dir, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${console}`, "--quiet"], {
        env: { ...process.env, MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: password, MINIO_BROWSER: "off", MINIO_UPDATE: "off" },
        stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const stop = async () => {
        if (child.exitCode === null) {
            child.kill();
            await new Promise((r) => child.once("exit", r));
        }
        rmSync(dir, { recursive: true, force: true });
    };
    const aws = new AwsClient({ accessKeyId: user, secretAccessKey: password, service: "s3", region: "us-east-1", retries: 0 });
    for (let i = 0; ; i++) {
        const r = await aws.fetch(`http://127.0.0.1:${port}/${bucket}`, { method: "PUT" }).catch(() => undefined);
        if (r?.ok) break;
        await r?.body?.cancel();
        if (i > 300 || child.exitCode !== null) {
            await stop();
            throw new Error(`MinIO did not start on 127.0.0.1:${port}: ${r ? r.status : "no answer"} ${stderr.slice(-2000)}`);
        }
        await new Promise((res) => setTimeout(res, 100));
    }
    return {
        bucket,
        url: `s3://${bucket}?endpoint=127.0.0.1:${port}&disableSSL=true&s3ForcePathStyle=true&region=us-east-1`,
        env: { AWS_ACCESS_KEY_ID: user, AWS_SECRET_ACCESS_KEY: password, AWS_REGION: "us-east-1" },
        stop,
    };
}
