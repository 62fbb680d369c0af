// The ssh host key check for an ssh:// Docker host (issue #14): the key the host offers must be in a known_hosts
// file, as OpenSSH's StrictHostKeyChecking=yes has it. An unknown key is refused with its fingerprint (so the
// operator can compare it with the host's own), a changed one with the line it contradicts; nothing is accepted and
// remembered silently (`ssh2` alone accepts any key). Pure, and captured by the dynamic providers: `require` inside.

export interface HostKeyVerdict {
    readonly ok: boolean;
    /** unknown: no line names the host; changed: lines name it with other keys; revoked: an @revoked line has this key. */
    readonly problem?: "unknown" | "changed" | "revoked";
    /** SHA256:<base64>, as `ssh-keygen -lf` prints it. */
    readonly fingerprint: string;
    /** Line numbers (1-based) of the entries that name the host. */
    readonly lines: readonly number[];
}

/** How known_hosts names a host: the bare name on port 22, `[name]:port` otherwise; lower case, IPv6 unbracketed. */
export function knownHostName(host: string, port: number): string {
    const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    return port === 22 ? bare : `[${bare}]:${port}`;
}

/** The key types a known_hosts line names: what the client should ask the host for, as OpenSSH does. */
const ALGORITHMS: Record<string, string[]> = {
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
};

/** One known_hosts line that may name a host: marker, host field, key type, key (base64). */
interface Entry {
    readonly line: number;
    readonly marker?: "@revoked";
    readonly hosts: string;
    readonly type: string;
    readonly key: string;
}

function entries(knownHosts: string): Entry[] {
    const out: Entry[] = [];
    knownHosts.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (!line || line.startsWith("#")) return;
        let fields = line.split(/\s+/);
        const marker = fields[0].startsWith("@") ? fields[0] : undefined;
        if (marker) fields = fields.slice(1);
        // Only OpenSSH's two markers mean anything; a line with another (a typo of @revoked, say) is skipped, never
        // trusted. Certificates are not used for Docker hosts.
        if ((marker && marker !== "@revoked") || fields.length < 3) return;
        out.push({ line: i + 1, marker: marker as Entry["marker"], hosts: fields[0], type: fields[1], key: fields[2] });
    });
    return out;
}

/** The host key algorithms to offer for a host known_hosts names (empty: no constraint, any key is then unknown). */
export function hostKeyAlgorithms(knownHosts: string, name: string): string[] {
    const types = entries(knownHosts).filter((e) => !e.marker && hostFieldMatches(e.hosts, name)).map((e) => e.type);
    return [...new Set(types.flatMap((t) => ALGORITHMS[t] ?? []))];
}

export function fingerprintOf(keyBlob: Buffer): string {
    const crypto = require("crypto") as typeof import("crypto");
    return `SHA256:${crypto.createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** One pattern of a known_hosts host field: plain, with * and ? wildcards, or hashed (|1|salt|hash). */
function patternMatches(pattern: string, name: string): boolean {
    if (pattern.startsWith("|1|")) {
        const crypto = require("crypto") as typeof import("crypto");
        const [, , salt, hash] = pattern.split("|");
        if (!salt || !hash) return false;
        return crypto.createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
    }
    const re = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`, "i");
    return re.test(name);
}

/** Does a comma-separated host field name this host? A negated pattern (!pattern) that matches wins. */
function hostFieldMatches(field: string, name: string): boolean {
    let hit = false;
    for (const p of field.split(",")) {
        if (p.startsWith("!")) {
            if (patternMatches(p.slice(1), name)) return false;
        } else if (patternMatches(p, name)) hit = true;
    }
    return hit;
}

/**
 * Checks the key a host offered against a known_hosts file's text. Changed: a line names the host with another key
 * of the same type; a line of another type only means this key is unknown.
 */
export function verifyHostKey(knownHosts: string, name: string, keyBlob: Buffer): HostKeyVerdict {
    const offered = keyBlob.toString("base64");
    // The key's own type is the first string in its wire form (RFC 4253 6.6).
    const type = keyBlob.length >= 4 ? keyBlob.subarray(4, 4 + keyBlob.readUInt32BE(0)).toString("latin1") : "";
    const named = entries(knownHosts).filter((e) => hostFieldMatches(e.hosts, name));
    const fingerprint = fingerprintOf(keyBlob);
    if (named.some((e) => e.marker === "@revoked" && e.key === offered)) return { ok: false, problem: "revoked", fingerprint, lines: [] };
    const plain = named.filter((e) => !e.marker);
    const lines = plain.map((e) => e.line);
    if (plain.some((e) => e.key === offered)) return { ok: true, fingerprint, lines };
    const sameType = plain.filter((e) => e.type === type);
    return sameType.length ? { ok: false, problem: "changed", fingerprint, lines: sameType.map((e) => e.line) } : { ok: false, problem: "unknown", fingerprint, lines };
}

/** The refusal a user reads (pure, so its words are tested exactly). */
export function hostKeyRefusal(v: HostKeyVerdict, name: string, file: string): string {
    const bracketed = /^\[(.*)\]:(\d+)$/.exec(name);
    const scan = bracketed ? `ssh-keyscan -p ${bracketed[2]} ${bracketed[1]}` : `ssh-keyscan ${name}`;
    switch (v.problem) {
        case "revoked":
            return `the ssh host key of ${name} (${v.fingerprint}) is marked @revoked in ${file}: nothing was sent to it. Find out why the host offers a revoked key before you go on.`;
        case "changed":
            return `the ssh host key of ${name} CHANGED: it offers ${v.fingerprint}, which is not the key ${file} holds for it (line ${v.lines.join(", ")}). ` +
                `Someone may be in the middle, or the host was rebuilt: nothing was sent to it. Check the host's key out of band (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it); ` +
                `if the change is expected, remove the old line (ssh-keygen -R '${name}' -f ${file}) and add the new key.`;
        default:
            return `the ssh host key of ${name} is unknown: it offers ${v.fingerprint} and ${file} has no line ${v.lines.length ? `with a key of its type for it (line ${v.lines.join(", ")} hold${v.lines.length === 1 ? "s" : ""} another type)` : "for it"}, so nothing was sent to it. ` +
                `Compare that fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it), then add it: ${scan} >> ${file}` +
                ` (or set noteshub:docker.knownHosts to the file that has it).`;
    }
}
