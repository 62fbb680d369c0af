// Every policy of the pack, without constructing the PolicyPack (its constructor starts a server), so tests can
// call the policies directly.
import type { Policies } from "@pulumi/policy";
import { containersHardened } from "./containers";
import { databaseNotExposed } from "./database";
import { liveColourUntouched, servingContainersKept } from "./live";
import { expandBeforeContract, migrationsHaveDowns } from "./migrations";
import { threeRetainedVersions, trafficSteps } from "./release";
import { trafficIsGated } from "./traffic";

export const policies: Policies = [
    migrationsHaveDowns,
    expandBeforeContract,
    threeRetainedVersions,
    trafficIsGated,
    trafficSteps,
    databaseNotExposed,
    containersHardened,
    liveColourUntouched,
    servingContainersKept,
];
