// Where a stack's state lives, read from the Pulumi backend URL the project's scripts use (PULUMI_BACKEND_URL), so
// noteshub's own lock and deployment log live with the stack (issue #14): on one machine's disk for the file
// backend (staging's default), in the same bucket for Pulumi's S3 backend, which the whole on-call rota shares.
import { homedir } from "node:os";
import { join } from "node:path";

export type Backend =
    | { readonly kind: "file"; readonly dir: string }
    | {
          readonly kind: "s3";
          readonly bucket: string;
          /** Key prefix inside the bucket (the URL's path), "" or ending in "/". */
          readonly prefix: string;
          /** The S3 server's base URL, e.g. http://127.0.0.1:9000 (AWS's own endpoint when the URL names none). */
          readonly endpoint: string;
          readonly region: string;
          /** Bucket in the path (MinIO and most S3-compatible servers) rather than in the host name. */
          readonly pathStyle: boolean;
          /** The URL as given, for messages. */
          readonly url: string;
      };

export type S3Backend = Extract<Backend, { kind: "s3" }>;

export class BackendError extends Error {}

/** The state directory of the file backend when nothing else is set. */
export const defaultStateDir = (): string => process.env.NOTESHUB_STATE_DIR ?? join(homedir(), ".noteshub-deploy", "state");

/**
 * Parses a backend URL as Pulumi's DIY backends take it: `file://<dir>` or
 * `s3://<bucket>[/<prefix>]?region=…&endpoint=…&disableSSL=true&s3ForcePathStyle=true`. Anything else (Pulumi Cloud,
 * azblob://, gs://) is refused with what is supported: noteshub's lock and log must live beside the state.
 */
export function parseBackend(url: string | undefined): Backend {
    if (!url) return { kind: "file", dir: defaultStateDir() };
    if (url.startsWith("file://")) return { kind: "file", dir: url.slice("file://".length).replace(/^~(?=\/|$)/, homedir()) || defaultStateDir() };
    if (url.startsWith("s3://")) {
        let u: URL;
        try {
            u = new URL(url);
        } catch {
            throw new BackendError(`PULUMI_BACKEND_URL ${url} is not a URL. Fix: s3://<bucket>?region=<region>[&endpoint=<host:port>&disableSSL=true&s3ForcePathStyle=true]`);
        }
        const bucket = u.hostname;
        if (!bucket) throw new BackendError(`PULUMI_BACKEND_URL ${url} names no bucket. Fix: s3://<bucket>?region=<region>`);
        const q = u.searchParams;
        const region = q.get("region") ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
        if (!region) throw new BackendError(`PULUMI_BACKEND_URL ${url} names no region. Fix: add ?region=<region> (or set AWS_REGION)`);
        const host = q.get("endpoint");
        const scheme = q.get("disableSSL") === "true" ? "http" : "https";
        const endpoint = host ? (/^https?:\/\//.test(host) ? host.replace(/\/$/, "") : `${scheme}://${host}`) : `https://s3.${region}.amazonaws.com`;
        const path = decodeURIComponent(u.pathname.replace(/^\/+/, ""));
        return { kind: "s3", bucket, prefix: path && !path.endsWith("/") ? `${path}/` : path, endpoint, region, pathStyle: q.get("s3ForcePathStyle") === "true" || q.get("use_path_style") === "true", url };
    }
    throw new BackendError(
        `PULUMI_BACKEND_URL ${url.replace(/\/\/[^@/]*@/, "//…@")} is not a backend noteshub can keep its lock and deployment log beside. Fix: file://<dir> (one machine) or s3://<bucket>?region=… (an S3 or S3-compatible bucket the rota shares)`,
    );
}

/** Where a stack's noteshub records live, in words (messages, `noteshub log`). */
export const describeBackend = (b: Backend): string => (b.kind === "file" ? b.dir : `${b.url.split("?")[0]}`);
