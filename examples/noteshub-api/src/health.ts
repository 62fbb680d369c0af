// GET /health, exactly the runbook's contract ("Health Check Endpoint"): status, version, timestamp,
// checks.database from a real ping, checks.storage from the uploads directory; 200 when healthy, 503 otherwise.
import { existsSync } from "node:fs";
import type { Db } from "mongodb";

export interface HealthReport {
    status: "healthy" | "unhealthy" | "degraded";
    version: string;
    timestamp: string;
    checks: Record<string, string>;
}

export async function checkHealth(db: Db, version: string, notesDir: string, simulateFailure: boolean, simulateDatabaseLoss = false): Promise<HealthReport> {
    const report: HealthReport = { status: "healthy", version, timestamp: new Date().toISOString(), checks: {} };
    try {
        if (simulateDatabaseLoss) throw new Error("connection lost (drill switch fail-database)");
        await db.command({ ping: 1 });
        report.checks.database = "ok";
    } catch (err) {
        report.status = "unhealthy";
        report.checks.database = `error: ${(err as Error).message}`;
    }
    if (existsSync(notesDir)) {
        report.checks.storage = "ok";
    } else {
        if (report.status === "healthy") report.status = "degraded";
        report.checks.storage = "error: directory not found";
    }
    if (simulateFailure) {
        // Drill switches (NOTESHUB_FAIL_HEALTH, NOTESHUB_FLAP_HEALTH): a release that starts but is not healthy.
        report.status = "unhealthy";
        report.checks.simulated = "error: simulated failure (drill switch)";
    }
    return report;
}
