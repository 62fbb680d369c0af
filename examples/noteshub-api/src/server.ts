// The reference NotesHub API: what staging, tests and drills deploy in place of the owner's image.
// Its version is baked into the image at build time (NOTESHUB_BUILD_VERSION, from the image tag), so /health
// reports what really runs, not what the container was told. Drill switches make it misbehave on purpose:
//   NOTESHUB_FAIL_HEALTH=1     /health answers 503
//   NOTESHUB_ERROR_RATE=0.2    that share of /api requests answer 500
//   NOTESHUB_USER_ERROR_RATE=0.2  the same for users' requests only (through the balancer, which sets
//                              X-Forwarded-For): the gate's direct smoke checks pass, the triggers must catch it
//   NOTESHUB_LATENCY_MS=300    added to every /api request
//   NOTESHUB_FLAP_HEALTH=1     /health alternates healthy and unhealthy
//   NOTESHUB_NO_LISTEN=1       the process runs but never listens
//   NOTESHUB_TEST_DELAYS=1     an /api request with ?delay_ms=N takes N ms more (a request in flight while the colour
//                              loses its share or is stopped: the drain tests)
//   NOTESHUB_DRILL_DIR=/tmp/noteshub-drill   switches a drill flips at run time, while the colour serves (a file in
//       that directory inside the container, e.g. `docker exec <colour> touch /tmp/noteshub-drill/fail-health`):
//       fail-health      /health answers 503 while the file exists
//       fail-database    the database check fails ("connection lost") and /api answers 503 while it exists
//       user-errors      users' /api requests answer 500 at NOTESHUB_USER_ERROR_RATE (0.2 when unset) while it exists
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { checkHealth } from "./health";
import { handleNotes, HttpError } from "./notes";

const env = process.env;
const version = env.NOTESHUB_BUILD_VERSION ?? env.APP_VERSION ?? "unknown";
const color = env.DEPLOYMENT_ENV ?? "none";
const port = Number(env.PORT ?? 8000);
const notesDir = join(env.UPLOADS_DIR ?? "/app/uploads", "notes");
const errorRate = Number(env.NOTESHUB_ERROR_RATE ?? 0);
const userErrorRate = Number(env.NOTESHUB_USER_ERROR_RATE ?? 0);
const latencyMs = Number(env.NOTESHUB_LATENCY_MS ?? 0);
const on = (v: string | undefined) => v === "1" || v === "true";
const failHealth = on(env.NOTESHUB_FAIL_HEALTH);
const flapHealth = on(env.NOTESHUB_FLAP_HEALTH);
const testDelays = on(env.NOTESHUB_TEST_DELAYS);
let healthAnswers = 0;
const drillDir = env.NOTESHUB_DRILL_DIR;
const drill = (name: string) => drillDir !== undefined && existsSync(join(drillDir, name));

if (!env.MONGODB_URI) {
    console.error("noteshub-api: MONGODB_URI is not set; set it to mongodb://user:password@host:27017/noteshub?authSource=admin");
    process.exit(2);
}
const client = new MongoClient(env.MONGODB_URI, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
const db = client.db();
try {
    mkdirSync(notesDir, { recursive: true });
} catch (err) {
    console.error(`noteshub-api: cannot create ${notesDir}: ${(err as Error).message}`);
}

function send(res: ServerResponse, status: number, body: unknown) {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
}

const server = createServer(async (req, res) => {
    res.setHeader("x-app-version", version);
    res.setHeader("x-app-color", color);
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
        if (url.pathname === "/health") {
            const report = await checkHealth(db, version, notesDir, failHealth || drill("fail-health") || (flapHealth && healthAnswers++ % 2 === 1), drill("fail-database"));
            return send(res, report.status === "healthy" ? 200 : 503, report);
        }
        if (url.pathname === "/api/notes" || url.pathname.startsWith("/api/notes/")) {
            const delay = latencyMs + (testDelays ? Math.min(Number(url.searchParams.get("delay_ms")) || 0, 120_000) : 0);
            if (delay > 0) await new Promise((r) => setTimeout(r, delay));
            if (drill("fail-database")) {
                req.resume();
                return send(res, 503, { error: "database connection lost (drill switch fail-database)" });
            }
            const userRate = drill("user-errors") ? userErrorRate || 0.2 : userErrorRate;
            const rate = req.headers["x-forwarded-for"] !== undefined ? Math.max(errorRate, userRate) : errorRate;
            if (rate > 0 && Math.random() < rate) {
                req.resume();
                return send(res, 500, { error: "simulated failure (NOTESHUB_ERROR_RATE)" });
            }
            return await handleNotes(db, notesDir, req, res, url, send);
        }
        if (url.pathname === "/") return send(res, 200, { service: "noteshub-api", version, color });
        throw new HttpError(404, `no route ${url.pathname}`);
    } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) console.error(`noteshub-api: ${req.method} ${url.pathname}: ${(err as Error).stack}`);
        if (!res.headersSent) send(res, status, { error: (err as Error).message });
        else res.destroy();
    }
});
server.keepAliveTimeout = 75_000; // longer than nginx's upstream keepalive, so nginx never reuses a closing socket

if (on(env.NOTESHUB_NO_LISTEN)) {
    console.log(`noteshub-api ${version} (${color}): NOTESHUB_NO_LISTEN is set, not listening`);
    setInterval(() => undefined, 1 << 30); // stay alive, like a process stuck before it opens its port
} else server.listen(port, () => console.log(`noteshub-api ${version} (${color}) listening on :${port}`));

// Graceful stop (docker stop, when the colour is replaced or stopped): no new connections, idle keep-alive sockets
// closed, requests in flight finished, then the database client. NOTESHUB_DRAIN_SEC (the program sets it from
// app.drainSec, default 30) bounds it: Docker gives the container the same grace before it kills it.
const drainMs = Number(env.NOTESHUB_DRAIN_SEC ?? 30) * 1000;
function shutdown(signal: string) {
    console.log(`noteshub-api: ${signal}, draining (up to ${drainMs / 1000} s)`);
    server.close(() => void client.close().finally(() => process.exit(0)));
    server.closeIdleConnections();
    // A keep-alive socket that turns idle after its last answer is closed then, not kept until the timeout.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    sweep.unref();
    setTimeout(() => process.exit(0), drainMs).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
