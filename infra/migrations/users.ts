// The app's own database login (issue #13, least privilege): readWrite on the stack's database and nothing else, in
// `admin` like the root user (clients authenticate with authSource=admin). Made, or given its current password and
// role, by every migrations run, with the root login, before any colour starts; the app never holds the root password.
// FerretDB 1.x checks the password (SCRAM) but has no roles: it refuses any (NotImplemented), so there the user is
// made without one and the app can do what any login can. MongoDB enforces the role.
import type { Db } from "mongodb";

export interface AppUser {
    readonly username: string;
    readonly password: string;
}

/** The server has no roles (FerretDB): "support for field roles ... is not implemented yet". */
const noRoles = (err: unknown) => (err as { code?: number }).code === 238 && /roles/.test((err as Error).message ?? "");

/** Creates the app's user, or sets its password (and role) when it exists. Says whether the server enforces the role. */
export async function ensureAppUser(admin: Db, user: AppUser, database: string): Promise<{ did: "created" | "updated"; roleEnforced: boolean }> {
    const info = (await admin.command({ usersInfo: { user: user.username, db: admin.databaseName } })) as { users?: unknown[] };
    const exists = (info.users?.length ?? 0) > 0;
    const command = (roles?: object[]) => exists
        ? { updateUser: user.username, pwd: user.password, ...(roles ? { roles } : {}) }
        : { createUser: user.username, pwd: user.password, roles: roles ?? [] };
    try {
        await admin.command(command([{ role: "readWrite", db: database }]));
        return { did: exists ? "updated" : "created", roleEnforced: true };
    } catch (err) {
        if (!noRoles(err)) throw err;
        await admin.command(command());
        return { did: exists ? "updated" : "created", roleEnforced: false };
    }
}
