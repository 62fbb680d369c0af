// The balancer's certificate and key (loadBalancer.tls, issue #14), read and checked before anything changes: a
// key that does not belong to the certificate, an expired certificate or one that does not name the host users
// reach would otherwise fail only when nginx starts (or, worse, in every user's browser). Node's crypto does the
// checking; the file reads are passed in, so every refusal is tested exactly.
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import type { NotesHubConfig } from "./config";

type TlsSettings = NonNullable<NotesHubConfig["loadBalancer"]["tls"]>;

export interface TlsMaterial {
    /** PEM: the certificate chain as given. */
    readonly certificate: string;
    /** PEM private key (a secret). */
    readonly key: string;
    /** sha256 of the certificate and key: names the nginx instance, so a new certificate is a new instance. */
    readonly fingerprint: string;
    /** The server certificate's expiry (ISO). */
    readonly expires: string;
}

export interface TlsFacts {
    /** Reads a file on the machine that runs pulumi. */
    readonly readFile: (path: string) => string;
    readonly now: Date;
    /** The host users reach (loadBalancer.hostname or its default): the certificate must name it. */
    readonly host: string;
}

const where = "noteshub:loadBalancer.tls";

/** The certificate and key, or every reason they can't serve (each with its fix). */
export function tlsMaterial(tls: TlsSettings, facts: TlsFacts): { material?: TlsMaterial; problems: string[] } {
    const problems: string[] = [];
    const read = (value: string | undefined, file: string | undefined, part: "certificate" | "key"): string | undefined => {
        if (value !== undefined) return value;
        try {
            return facts.readFile(file!);
        } catch (err) {
            problems.push(`${where}.${part}File: can't read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix: the path of the PEM file on the machine that runs pulumi`);
            return undefined;
        }
    };
    const certificate = read(tls.certificate, tls.certificateFile, "certificate");
    const key = read(tls.key, tls.keyFile, "key");
    const certPath = `${where}.${tls.certificate !== undefined ? "certificate" : "certificateFile"}`;
    const keyPath = `${where}.${tls.key !== undefined ? "key" : "keyFile"}`;
    let cert: X509Certificate | undefined;
    if (certificate !== undefined) {
        try {
            cert = new X509Certificate(certificate);
        } catch {
            problems.push(`${certPath}: is not a PEM certificate (-----BEGIN CERTIFICATE-----); fix: the server certificate first, then its intermediates`);
        }
    }
    let privateKey: ReturnType<typeof createPrivateKey> | undefined;
    if (key !== undefined) {
        try {
            privateKey = createPrivateKey(key);
        } catch {
            problems.push(`${keyPath}: is not a PEM private key without a passphrase (-----BEGIN PRIVATE KEY-----); fix: openssl pkey -in <key> -out key.pem`);
        }
    }
    if (cert) {
        if (privateKey && !cert.checkPrivateKey(privateKey)) {
            problems.push(`${keyPath}: is not the key of the certificate (${cert.subject.replace(/\n/g, ", ")}, serial ${cert.serialNumber}); fix: the key the certificate was issued for`);
        }
        if (new Date(cert.validTo) <= facts.now) {
            problems.push(`${certPath}: expired on ${new Date(cert.validTo).toISOString()}; fix: renew it, then pulumi up (the new one goes live without dropping a request)`);
        } else if (new Date(cert.validFrom) > facts.now) {
            problems.push(`${certPath}: is not valid before ${new Date(cert.validFrom).toISOString()}; fix: wait, or check this machine's clock`);
        }
        const host = facts.host.replace(/^\[|\]$/g, "");
        const names = isIP(host) ? cert.checkIP(host) : cert.checkHost(host);
        if (names === undefined) {
            problems.push(`${certPath}: does not name ${host}, the host users reach (it names ${cert.subjectAltName ?? cert.subject.replace(/\n/g, ", ")}); ` +
                `fix: a certificate for ${host}, or pulumi config set --path 'loadBalancer.hostname' <the name it is for>`);
        }
    }
    if (problems.length > 0 || certificate === undefined || key === undefined || !cert) return { problems };
    const fingerprint = createHash("sha256").update(certificate).update("\0").update(key).digest("hex");
    return { material: { certificate, key, fingerprint, expires: new Date(cert.validTo).toISOString() }, problems };
}
