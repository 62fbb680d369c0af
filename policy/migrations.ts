// Migration policies (runbook "Database Migration Rollback"; INVARIANTS 5 and 6): every migration can go back,
// and a contracting migration waits until no retained version needs what it removes.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { listed, ofKind, type MigrationDescriptor, type MigrationsProps, type ReleaseProps, type ScriptDescriptor } from "./resources";

const collectionOf = (path: string) => path.split(".")[0];

/** What the up does that the down leaves in place (empty when the down visibly undoes it all). */
export function notUndone(up: ScriptDescriptor, down: ScriptDescriptor): string[] {
    const u = up.touches;
    const d = down.touches;
    const restoresAtAll = d.restoresBackup;
    const lossy = [
        ...(u.documentsDeleted ?? []).map((c) => `the up deletes documents from ${c}`),
        ...(u.documentsReplaced ?? []).map((c) => `the up rewrites whole documents in ${c}`),
        ...(u.collectionsOverwritten ?? []).map((c) => `the up overwrites collection ${c}`),
    ];
    // What no command can undo unless the backup taken before it comes back, whatever the down's format.
    const unrestored = restoresAtAll ? [] : lossy.map((what) => `${what}, the down does not restore the backup`);
    if (up.format === "code" || down.format === "code") return unrestored; // code can't be read; only emptiness is checked
    const renamedBack = (from: string, to: string) => (d.collectionsRenamed ?? []).some((x, i) => x === to && d.collectionsRenamedTo[i] === from);
    const missingRenames = (u.collectionsRenamed ?? []).flatMap((from, i) => renamedBack(from, u.collectionsRenamedTo[i]) ? [] : [`the up renames collection ${from} to ${u.collectionsRenamedTo[i]}, the down never renames it back`]);
    const restores = d.restoresBackup;
    const droppedColl = (path: string) => d.collectionsDropped.includes(collectionOf(path));
    const touchedField = (f: string) => d.fieldsRemoved.includes(f) || d.fieldsSet.includes(f) || d.fieldsRenamed.includes(f) || d.fieldsRenamedTo.includes(f);
    const missing: string[] = [];
    for (const ix of u.indexesCreated) if (!d.indexesDropped.includes(ix) && !droppedColl(ix)) missing.push(`the up creates index ${ix}, the down never drops it`);
    for (const ix of u.indexesDropped) if (!d.indexesCreated.includes(ix)) missing.push(`the up drops index ${ix}, the down never recreates it`);
    for (const c of u.collectionsCreated) if (!d.collectionsDropped.includes(c)) missing.push(`the up creates collection ${c}, the down never drops it`);
    for (const c of u.collectionsDropped) if (!restores && !d.collectionsCreated.includes(c)) missing.push(`the up drops collection ${c}, the down neither restores the backup nor recreates it`);
    for (const f of u.fieldsSet) if (!touchedField(f) && !restores && !droppedColl(f)) missing.push(`the up sets field ${f}, the down never removes or resets it`);
    for (const f of u.fieldsRemoved) if (!d.fieldsSet.includes(f) && !restores) missing.push(`the up removes field ${f}, the down neither restores the backup nor sets it again`);
    u.fieldsRenamed.forEach((from, i) => {
        const to = u.fieldsRenamedTo[i];
        if (!restores && !(d.fieldsRenamed.includes(to) && d.fieldsRenamedTo.includes(from))) missing.push(`the up renames ${from} to ${to.split(".").slice(1).join(".")}, the down never renames it back`);
    });
    return [...missing, ...missingRenames, ...unrestored];
}

/** Every problem with one migration's down, each a full sentence with the fix. */
export function downProblems(m: MigrationDescriptor): string[] {
    const fix = `see migrations/README.md`;
    if (!m.down) {
        return [`migration ${m.id}: migrations/${m.up.file} has no down-migration, so no rollback can undo it. Fix: add migrations/${m.id}.down.json (or .ts/.js exporting down(db)) that undoes it; ${fix}.`];
    }
    const down = m.down;
    for (const [dir, script] of [["up", m.up], ["down", down]] as const) {
        if (script.touches.databaseDropped) return [`migration ${m.id}: migrations/${script.file} drops the whole database (dropDatabase), which no rollback can undo and no backup covers. Fix: drop the collections it means, one by one, with a down that restores them; ${fix}.`];
        const commands = (script.touches.unreadable ?? []).filter((u) => u.startsWith("command "));
        if (commands.length) return [`migration ${m.id}: the ${dir} (migrations/${script.file}) runs ${listed(commands)}, which noteshub can't read, so it counts as destructive with nothing to restore. Fix: use the commands ${fix} lists, or a code migration that declares what it touches.`];
    }
    if (down.format === "commands" && down.commands === 0) {
        return [`migration ${m.id}: migrations/${down.file} has no commands, so rolling ${m.id} back would do nothing. Fix: list the commands that undo migrations/${m.up.file}; ${fix}.`];
    }
    if (down.format === "code" && down.emptyBody) {
        return [`migration ${m.id}: down(db) in migrations/${down.file} has an empty body, so rolling ${m.id} back would do nothing. Fix: write the code that undoes migrations/${m.up.file}; ${fix}.`];
    }
    const missing = notUndone(m.up, down);
    return missing.length === 0 ? [] : [`migration ${m.id}: migrations/${down.file} does not undo migrations/${m.up.file}: ${listed(missing)}. Fix: add the commands that undo those to the down (or {"noteshubRestoreBackup": "up"} for what the up removed); ${fix}.`];
}

export const migrationsHaveDowns: ResourceValidationPolicy = {
    name: "migrations-have-downs",
    description: "Every migration has a down-migration that is not empty and undoes what its up does (INVARIANTS 6).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.props?.kind !== "Migrations") return;
        const props = args.props as MigrationsProps;
        for (const m of props.descriptors ?? []) for (const p of downProblems(m)) report(p);
    },
};

/** What a migration's up takes away that an older version may still read. */
export function contractions(m: MigrationDescriptor): string[] {
    const t = m.up.touches;
    return [
        ...t.fieldsRemoved.map((f) => `drops field ${f}`),
        ...t.fieldsRenamed.map((f, i) => `renames field ${f} to ${t.fieldsRenamedTo[i]?.split(".").slice(1).join(".")}`),
        ...t.collectionsDropped.map((c) => `drops collection ${c}`),
        ...t.indexesDropped.map((ix) => `drops index ${ix}`),
        ...(t.collectionsRenamed ?? []).map((c, i) => `renames collection ${c} to ${t.collectionsRenamedTo[i]}`),
        ...(t.documentsReplaced ?? []).map((c) => `rewrites whole documents in ${c}`),
        ...(t.unreadable ?? []).map((u) => `runs ${u}, which counts as destructive`),
    ];
}

/** Violations for one stack: each contracting migration this update applies × each retained version older than it. */
export function contractProblems(migrations: MigrationsProps, release: ReleaseProps): string[] {
    const problems: string[] = [];
    const retained = Object.values(release.retainedVersions ?? {});
    for (const m of migrations.descriptors ?? []) {
        if (m.seq > migrations.target) continue; // not applied by this update
        const what = contractions(m);
        if (what.length === 0) continue;
        for (const v of retained) {
            const needs = release.schema?.[v] ?? 0;
            if (needs >= m.seq) continue;
            problems.push(`migration ${m.id} contracts the schema (${listed(what)}) while retained version ${v} (schema ${needs}) still needs what it removes and can be rolled back to. ` +
                `Fix: expand first, contract later - apply ${m.id} only once every retained version needs schema ${m.seq} or more (after ${v} has left noteshub:retainedVersions), or keep noteshub:schema below ${m.seq} for the versions you run now.`);
        }
    }
    return problems;
}

export const expandBeforeContract: StackValidationPolicy = {
    name: "expand-before-contract",
    description: "A migration that drops or renames what older code reads waits until no retained version needs it (INVARIANTS 5).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const [release] = ofKind<ReleaseProps>(args.resources, "Release");
        if (!release) return;
        for (const m of ofKind<MigrationsProps>(args.resources, "Migrations")) {
            for (const p of contractProblems(m.props, release.props)) report(p, m.urn);
        }
    },
};
