// A named Docker volume. Data outlives the stack (INVARIANTS 7): delete never removes a data volume, and create
// adopts an existing one of the same name, so `pulumi destroy` then `pulumi up` finds the data again.
// To remove the data for good: `docker volume rm <name>` by hand (README, "Where data lives"). A volume that holds
// no data (the balancer's traffic state) can ask to go with the stack.
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, type DockerConnection } from "../docker/engine";
import { diffInputs } from "./diff";

export interface DockerVolumeArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** Volume name on the Docker host; carries the stack. */
    readonly name: pulumi.Input<string>;
    readonly labels?: pulumi.Input<Record<string, string>>;
    /** Remove it on delete: only for a volume that holds no data (a stale traffic state must not outlive its stack). */
    readonly removeOnDelete?: boolean;
}

interface Inputs {
    docker: DockerConnection;
    name: string;
    labels?: Record<string, string>;
    removeOnDelete?: boolean;
}
interface Outputs extends Inputs {
    mountpoint: string;
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        // Labels can't change on a Docker volume, and a volume is never recreated for them: keep the old one.
        return diffInputs(olds as never, news as never, { outputs: ["mountpoint"], inPlace: ["labels", "docker", "removeOnDelete"] });
    },
    async create(inputs: Inputs) {
        try {
            // The engine returns the existing volume when the name is taken: that is the adoption.
            const vol = await connect(inputs.docker).createVolume({ Name: inputs.name, Labels: inputs.labels ?? {} });
            const outs: Outputs = { ...inputs, mountpoint: (vol as unknown as { Mountpoint?: string }).Mountpoint ?? "" };
            return { id: inputs.name, outs };
        } catch (err) {
            throw engineError("create", `volume ${inputs.name}`, inputs.docker, err);
        }
    },
    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: { ...olds, labels: news.labels, docker: news.docker, removeOnDelete: news.removeOnDelete } };
    },
    async delete(_id: string, props: Outputs) {
        // Deliberately nothing for data: it stays on the Docker host (INVARIANTS 7).
        if (!props.removeOnDelete) return;
        try {
            await connect(props.docker).getVolume(props.name).remove();
        } catch (err) {
            const code = (err as { statusCode?: number }).statusCode;
            if (code !== 404 && code !== 409) throw engineError("remove", `volume ${props.name}`, props.docker, err);
        }
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class DockerVolume extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly mountpoint: pulumi.Output<string>;

    constructor(name: string, args: DockerVolumeArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, mountpoint: undefined }, { retainOnDelete: args.removeOnDelete !== true, ...opts }, "docker", "Volume");
    }
}
