// Which stack a database belongs to (issue #13). The first `up` writes the stack's identity into its database;
// every later one checks it before any migration runs and before any colour starts on it. Changing
// database.image (another image keeps its data elsewhere), database.name or docker.host points the stack at
// another database: an empty one, or another stack's, would otherwise pass every check (GET /api/notes is 200 with
// 0 notes) and users would write into it. A dump restored there carries the identity, so a real move passes.
import type { Db } from "mongodb";
import { CHANGELOG } from "./runner";

export const IDENTITY = "_noteshub_identity";
const ID = "stack";

interface IdentityDoc {
    _id: string;
    stack: string;
    writtenAt: Date;
    /** Set when `database.adopt` took the database over: whose it was before. */
    adoptedFrom?: string | null;
}

export class IdentityError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "IdentityError";
        this.message = message; // set again: a dynamic provider's serialized class does not pass it to Error
    }
}

export interface IdentityCheck {
    /** The stack's name (project-stack). */
    readonly stack: string;
    /**
     * This stack has run migrations on a database before (its state says so), up to this schema, and whether that
     * run already wrote the identity (state made before identities did not).
     */
    readonly ranBefore: { schema: number; identity: boolean } | undefined;
    /** database.adopt: the operator takes this database over on purpose. */
    readonly adopt: boolean;
    /** Where the database is, for the message (image, name, host). */
    readonly where: string;
}

export type IdentityOutcome = "matches" | "written" | "adopted";

const ADOPT = "set database.adopt true for one pulumi up (then remove it)";

export async function checkIdentity(db: Db, c: IdentityCheck): Promise<IdentityOutcome> {
    const col = db.collection<IdentityDoc>(IDENTITY);
    const doc = await col.findOne({ _id: ID });
    if (doc?.stack === c.stack) return "matches";
    if (c.adopt) {
        await col.updateOne({ _id: ID }, { $set: { stack: c.stack, writtenAt: new Date(), adoptedFrom: doc?.stack ?? null } }, { upsert: true });
        return "adopted";
    }
    if (doc) {
        throw new IdentityError(`this is not the stack's database: ${c.where} belongs to stack ${doc.stack} (since ${doc.writtenAt.toISOString()}), not ${c.stack}. ` +
            `Nothing was migrated and no colour was started on it. Point the stack back at its own database (database.image, database.name, docker.host), or, to take this one over on purpose, ${ADOPT}.`);
    }
    if (c.ranBefore) {
        // A stack whose state says its database has an identity: none here means another database. A stack made
        // before identities: its own database has its changelog (unless it never needed a migration, schema 0).
        const changelog = c.ranBefore.identity || c.ranBefore.schema > 0 ? await db.collection(CHANGELOG).countDocuments({}, { limit: 1 }) : 1;
        if (changelog === 0 || c.ranBefore.identity) {
            throw new IdentityError(`this is not the stack's database: ${c.where} has no NotesHub data (no identity${changelog ? "" : ", no changelog"}), while stack ${c.stack} last ran on a database at schema ${c.ranBefore.schema}. ` +
                `Did database.image, database.name or docker.host change? Nothing was migrated and no colour was started on it. Point the stack back at its own database; to move it, restore a dump of it there first (the identity comes with it); to start this stack on an empty database on purpose, ${ADOPT}.`);
        }
    }
    await col.updateOne({ _id: ID }, { $setOnInsert: { stack: c.stack, writtenAt: new Date(), adoptedFrom: null } }, { upsert: true });
    return "written";
}
