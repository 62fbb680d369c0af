// The release as declared: the deploy-relevant stack config as plain values in one resource. It touches nothing;
// it exists so the policy pack (policy/) can judge the release at preview time (issue #5) and so the state of every
// update records which colour, versions, traffic share and schema were declared.
import * as pulumi from "@pulumi/pulumi";
import type { Storage } from "../stackFile";
import { changedInputs } from "./diff";

export interface ReleaseArgs {
    readonly stack: string;
    readonly environment: string;
    readonly activeColor: string;
    readonly versions: Record<string, string>;
    readonly retainedVersions: { current: string; previous: string; archived: string };
    /** The migration number each retained version needs. */
    readonly schema: Record<string, number>;
    /** Share of requests (percent) the active colour gets; the other colour gets the rest. */
    readonly traffic: number;
    /** How Pulumi.<stack>.yaml holds the database password: "secret" (`secure:`), "plaintext", "absent" or "unknown". */
    readonly databasePassword: Storage;
}

type Inputs = ReleaseArgs & { kind: "Release" };

export const provider = {
    async diff(_id: string, olds: Inputs, news: Inputs) {
        return { changes: changedInputs(olds as never, news as never, []).length > 0, replaces: [] };
    },
    async create(inputs: Inputs) {
        return { id: `release-${inputs.stack}`, outs: inputs };
    },
    async update(_id: string, _olds: Inputs, news: Inputs) {
        return { outs: news };
    },
    async delete() {
        // A record; nothing to remove.
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class Release extends pulumi.dynamic.Resource {
    constructor(name: string, args: ReleaseArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, kind: "Release" }, opts, "noteshub", "Release");
    }
}
