// The few S3 object calls noteshub's shared lock and log need, signed with AWS Signature V4 (aws4fetch), with S3's
// conditional writes: `If-None-Match: *` creates an object only if there is none, `If-Match: <etag>` replaces it only
// if nobody changed it since it was read. Those two make a lock and an append exact across machines, with nothing
// but the bucket the state is in (AWS S3 and MinIO both honour them).
import { AwsClient } from "aws4fetch";
import type { S3Backend } from "./backend";

export interface S3Object {
    readonly body: string;
    readonly etag: string;
    /** Seconds since it was last written, by the server's clock (its Date minus Last-Modified): no operator's clock. */
    readonly ageSec: number;
}

export class S3Error extends Error {}

export interface S3 {
    /** The object, or undefined when there is none. */
    get(key: string): Promise<S3Object | undefined>;
    /** Writes it if the condition holds: its new etag, or undefined when the condition failed (someone else wrote). */
    put(key: string, body: string, when: { ifNoneMatch: "*" } | { ifMatch: string }): Promise<string | undefined>;
    /** Deletes it (if it is still `ifMatch`, where the server can tell); true when it is gone. */
    remove(key: string, ifMatch?: string): Promise<boolean>;
}

/** A client for the backend's bucket, with the credentials Pulumi's S3 backend takes from the environment. */
export function s3Client(b: S3Backend, env: NodeJS.ProcessEnv = process.env): S3 {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
        throw new S3Error(`the state is in ${b.url.split("?")[0]}, and noteshub keeps its lock and log there too: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), as for pulumi`);
    }
    const aws = new AwsClient({ accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN, service: "s3", region: b.region, retries: 2 });
    const urlOf = (key: string) => {
        const path = `${b.prefix}${key}`.split("/").map(encodeURIComponent).join("/");
        if (b.pathStyle) return `${b.endpoint}/${b.bucket}/${path}`;
        const u = new URL(b.endpoint);
        return `${u.protocol}//${b.bucket}.${u.host}/${path}`;
    };
    const call = async (method: string, key: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> => {
        try {
            return await aws.fetch(urlOf(key), { method, body: init.body, headers: init.headers });
        } catch (err) {
            throw new S3Error(`S3 ${method} ${b.bucket}/${b.prefix}${key} at ${b.endpoint}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ""}`);
        }
    };
    const fail = async (method: string, key: string, r: Response): Promise<never> => {
        const text = await r.text().catch(() => "");
        const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
        const why = /<Message>([^<]+)<\/Message>/.exec(text)?.[1];
        throw new S3Error(`S3 ${method} ${b.bucket}/${b.prefix}${key} at ${b.endpoint}: ${r.status}${code ? ` ${code}` : ""}${why ? `: ${why}` : ""}`);
    };
    return {
        async get(key) {
            const r = await call("GET", key);
            if (r.status === 404) {
                await r.body?.cancel();
                return undefined;
            }
            if (!r.ok) return fail("GET", key, r);
            const server = Date.parse(r.headers.get("date") ?? "");
            const written = Date.parse(r.headers.get("last-modified") ?? "");
            const ageSec = Number.isFinite(server) && Number.isFinite(written) ? Math.max(0, (server - written) / 1000) : 0;
            return { body: await r.text(), etag: r.headers.get("etag") ?? "", ageSec };
        },
        async put(key, body, when) {
            const headers: Record<string, string> = { "content-type": "application/json" };
            if ("ifNoneMatch" in when) headers["if-none-match"] = "*";
            else headers["if-match"] = when.ifMatch;
            const r = await call("PUT", key, { body, headers });
            // 412: the condition failed; 409: a concurrent conditional write to the same key won (AWS S3 says so);
            // 404 on If-Match: the object it was to replace is gone (released meanwhile).
            if (r.status === 412 || r.status === 409 || (r.status === 404 && "ifMatch" in when)) {
                await r.body?.cancel();
                return undefined;
            }
            if (!r.ok) return fail("PUT", key, r);
            await r.body?.cancel();
            return r.headers.get("etag") ?? "";
        },
        async remove(key, ifMatch) {
            const r = await call("DELETE", key, { headers: ifMatch ? { "if-match": ifMatch } : {} });
            if (r.status === 412 || r.status === 409) {
                await r.body?.cancel();
                return false;
            }
            if (!r.ok && r.status !== 404) return fail("DELETE", key, r);
            await r.body?.cancel();
            return true;
        },
    };
}
