// Issue #4 benchmark: a data migration over 200k notes through the migrations provider (relay through the database
// container, lock, changelog) vs the same commands sent directly with the driver to a published port, in one run.
// Goal: ratio <= 1.1. Prints; asserts nothing. NOTES=20000 npm run bench -- test/bench/migrations.bench.ts for a quick run.
import { MongoClient } from "mongodb";
import { buildFrom } from "../../infra/docker/context";
import type { Migration } from "../../infra/migrations/load";
import { fromRoot } from "../../infra/paths";
import * as container from "../../infra/providers/dockerContainer";
import * as image from "../../infra/providers/dockerImage";
import * as migrations from "../../infra/providers/migrations";
import { freePort, purgeDockerLeftovers } from "../helpers/stack";

const STACK = "bench-mig";
const NOTES = Number(process.env.NOTES ?? 200_000);
const local = { host: "unix:///var/run/docker.sock" };
const script = (file: string, commands: Record<string, unknown>[]) => ({ file, description: "", checksum: file.padEnd(64, "0"), commands });
// A data transform touching every note, and an index build over them.
const MIGRATIONS: Migration[] = [
    {
        id: "001_flag_notes", seq: 1,
        up: script("001_flag_notes.up.json", [{ update: "notes", updates: [{ q: { reviewed: { $exists: false } }, u: { $set: { reviewed: false } }, multi: true }] }]),
        down: script("001_flag_notes.down.json", [{ update: "notes", updates: [{ q: {}, u: { $unset: { reviewed: "" } }, multi: true }] }]),
    },
    {
        id: "002_index_year", seq: 2,
        up: script("002_index_year.up.json", [{ createIndexes: "notes", indexes: [{ key: { year: 1 }, name: "idx_notes_year" }] }]),
        down: script("002_index_year.down.json", [{ dropIndexes: "notes", index: "idx_notes_year" }]),
    },
];

async function main() {
    purgeDockerLeftovers(STACK);
    const img = await image.provider.create({ docker: local, name: `noteshub-${STACK}/ferretdb:v1.24.2`, build: buildFrom(fromRoot("images/ferretdb")) });
    const port = await freePort();
    const db = await container.provider.create({
        docker: local, owner: `noteshub-${STACK}`, name: `noteshub-${STACK}-db`, image: `noteshub-${STACK}/ferretdb:v1.24.2`, imageId: img.outs.imageId,
        env: { MONGO_INITDB_ROOT_USERNAME: "noteshub", MONGO_INITDB_ROOT_PASSWORD: "bench-password" }, network: "bridge", aliases: [],
        ports: [{ container: 27017, host: port, hostIp: "127.0.0.1" }], mounts: [], labels: { "io.noteshub.stack": STACK },
        securityOpt: [], capDrop: [], capAdd: [], stopTimeoutSec: 5, readyTimeoutSec: 120,
        healthcheck: { test: ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/27017"], intervalMs: 500, timeoutMs: 2000, retries: 100, startPeriodMs: 0 },
    });
    const client = await new MongoClient(`mongodb://noteshub:bench-password@127.0.0.1:${port}/bench?authSource=admin`).connect();
    try {
        const notes = client.db("bench").collection("notes");
        let t = Date.now();
        for (let i = 0; i < NOTES; i += 10_000) {
            await notes.insertMany(Array.from({ length: Math.min(10_000, NOTES - i) }, (_, j) => ({ title: `note ${i + j}`, department: ["cs", "math", "physics"][j % 3], year: 2015 + (j % 10), uploaded_at: new Date() })));
        }
        console.log(`seeded ${NOTES} notes in ${((Date.now() - t) / 1000).toFixed(1)} s`);

        const inputs = { docker: local, dbContainerId: db.id, login: { username: "noteshub", password: "bench-password", database: "bench", port: 27017 }, migrations: MIGRATIONS, target: 2, stack: STACK };
        t = Date.now();
        const created = await migrations.provider.create(inputs);
        const viaProvider = Date.now() - t;
        await migrations.provider.update("id", created.outs, { ...inputs, target: 0 }); // back to the start, untimed

        t = Date.now();
        for (const m of MIGRATIONS) for (const cmd of m.up.commands) await client.db("bench").command(cmd);
        const direct = Date.now() - t;
        console.log(`migration over ${NOTES} notes ($set on every note + an index): provider ${(viaProvider / 1000).toFixed(2)} s, driver direct ${(direct / 1000).toFixed(2)} s, ratio ${(viaProvider / direct).toFixed(3)} (goal <= 1.1)`);
    } finally {
        await client.close();
        purgeDockerLeftovers(STACK);
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
