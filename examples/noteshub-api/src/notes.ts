// /api/notes: create, list, get, and one uploaded file per note written to the uploads volume.
// Field names follow the runbook's indexes (department, year, uploaded_at).
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { ObjectId, type Db } from "mongodb";

type Send = (res: ServerResponse, status: number, body: unknown) => void;

export async function readJson(req: IncomingMessage, limit = 1 << 20): Promise<unknown> {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
        chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    } catch {
        throw new HttpError(400, "body is not valid JSON");
    }
    // `null`, a number or an array is valid JSON but not a note: a client's mistake (400), never a 500.
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "body must be a JSON object");
    return body;
}

/** ?limit=: 1 to 1000 (100 when absent); anything else is the client's mistake, never a way around the cap. */
function parseLimit(raw: string | null): number {
    if (raw === null) return 100;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 1 || n > 1000) throw new HttpError(400, "limit: a whole number from 1 to 1000");
    return n;
}

export class HttpError extends Error {
    constructor(readonly status: number, message: string) {
        super(message);
    }
}

function parseId(id: string): ObjectId {
    if (!ObjectId.isValid(id)) throw new HttpError(404, `no note ${id}`);
    return new ObjectId(id);
}

export async function handleNotes(db: Db, notesDir: string, req: IncomingMessage, res: ServerResponse, url: URL, send: Send) {
    const notes = db.collection("notes");
    const parts = url.pathname.split("/").filter(Boolean); // ["api", "notes", id?, "file"?]
    if (parts.length === 2 && req.method === "GET") {
        const filter: Record<string, unknown> = {};
        const dept = url.searchParams.get("department");
        const year = url.searchParams.get("year");
        if (dept) filter.department = dept;
        if (year) filter.year = Number(year);
        const limit = parseLimit(url.searchParams.get("limit"));
        const list = await notes.find(filter).sort({ uploaded_at: -1 }).limit(limit).toArray();
        return send(res, 200, { notes: list, count: list.length });
    }
    if (parts.length === 2 && req.method === "POST") {
        const body = (await readJson(req)) as Record<string, unknown>;
        if (typeof body.title !== "string" || body.title.trim() === "") throw new HttpError(400, "title: required string");
        const doc = {
            title: body.title,
            body: typeof body.body === "string" ? body.body : "",
            department: typeof body.department === "string" ? body.department : "general",
            year: Number.isInteger(body.year) ? body.year : new Date().getUTCFullYear(),
            uploaded_at: new Date(),
        };
        const { insertedId } = await notes.insertOne(doc);
        return send(res, 201, { _id: insertedId, ...doc });
    }
    if (parts.length === 3 && req.method === "GET") {
        const note = await notes.findOne({ _id: parseId(parts[2]) });
        if (!note) throw new HttpError(404, `no note ${parts[2]}`);
        return send(res, 200, note);
    }
    if (parts.length === 4 && parts[3] === "file") {
        const id = parseId(parts[2]);
        const path = join(notesDir, id.toHexString());
        if (req.method === "PUT" || req.method === "POST") {
            if (!(await notes.findOne({ _id: id }))) throw new HttpError(404, `no note ${parts[2]}`);
            // Written under a temporary name of its own (two uploads to one note at once never share one) and
            // renamed, so a reader never sees half a file; the last rename wins whole.
            const tmp = `${path}.part-${process.pid}-${randomUUID()}`;
            await mkdir(notesDir, { recursive: true });
            try {
                await pipeline(req, createWriteStream(tmp, { flags: "wx" }));
                await rename(tmp, path);
            } catch (err) {
                await rm(tmp, { force: true });
                throw err;
            }
            const { size } = await stat(path);
            const file = { name: url.searchParams.get("name") ?? "upload", size, content_type: req.headers["content-type"] ?? "application/octet-stream" };
            await notes.updateOne({ _id: id }, { $set: { file } });
            return send(res, 201, { _id: id, file });
        }
        if (req.method === "GET") {
            const note = await notes.findOne({ _id: id });
            if (!note?.file) throw new HttpError(404, `note ${parts[2]} has no file`);
            // Served as a download, never rendered: the client chose the stored type, so a browser must not run an
            // uploaded page or script in the app's origin (stored XSS).
            res.writeHead(200, {
                "content-type": String(note.file.content_type),
                "content-length": String(note.file.size),
                "x-content-type-options": "nosniff",
                "content-disposition": `attachment; filename="${String(note.file.name).replace(/[^\w.-]/g, "_")}"`,
                "content-security-policy": "default-src 'none'; sandbox",
            });
            await pipeline(createReadStream(path), res);
            return;
        }
    }
    throw new HttpError(405, `${req.method} ${url.pathname} is not supported`);
}
