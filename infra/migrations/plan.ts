// Which migrations run, in which direction (runbook "Database Migration Rollback"; INVARIANTS 5 and 6).
// The target is the newest schema any running colour needs; going down runs downs newest first.

export interface Step {
    readonly direction: "up" | "down";
    readonly id: string;
}

/** The schema a set of running versions needs: the highest migration number any of them needs (0: none). */
export function targetSeq(needs: number[]): number {
    return needs.reduce((a, b) => Math.max(a, b), 0);
}

const seqOf = (id: string) => Number(id.slice(0, 3));

/**
 * Steps from the applied migrations to the target. `available` are the ids the program (or state) can run;
 * an up that is missing, or a gap in what was applied, is an error naming the migration.
 */
export function planSteps(applied: string[], available: string[], target: number): Step[] {
    const done = [...applied].sort();
    for (let i = 0; i < done.length; i++) {
        if (seqOf(done[i]) !== i + 1) throw new Error(`migrations: applied ${done.join(", ")} has a gap before ${done[i]}; the changelog (_migrations) is inconsistent`);
    }
    const current = done.length;
    if (target > current) {
        const ups: Step[] = [];
        for (let seq = current + 1; seq <= target; seq++) {
            const id = available.find((a) => seqOf(a) === seq);
            if (!id) throw new Error(`migrations: schema ${String(target).padStart(3, "0")} is needed but migration ${String(seq).padStart(3, "0")} is not in migrations/`);
            ups.push({ direction: "up", id });
        }
        return ups;
    }
    return done.filter((id) => seqOf(id) > target).reverse().map((id) => ({ direction: "down" as const, id }));
}
