// A named Docker volume. Data outlives the stack (INVARIANTS 7): delete never removes the volume, and create
// adopts an existing one of the same name, so `pulumi destroy` then `pulumi up` finds the data again.
// To remove the data for good: `docker volume rm <name>` by hand (README, "Where data lives").
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, type DockerConnection } from "../docker/engine";
import { diffInputs } from "./diff";

export interface DockerVolumeArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    /** Volume name on the Docker host; carries the stack. */
    readonly name: pulumi.Input<string>;
    readonly labels?: pulumi.Input<Record<string, string>>;
}

interface Inputs {
    docker: DockerConnection;
    name: string;
    labels?: Record<string, string>;
}
interface Outputs extends Inputs {
    mountpoint: string;
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        // Labels can't change on a Docker volume, and a volume is never recreated for them: keep the old one.
        return diffInputs(olds as never, news as never, { outputs: ["mountpoint"], inPlace: ["labels", "docker"] });
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
        return { outs: { ...olds, labels: news.labels, docker: news.docker } };
    },
    async delete() {
        // Deliberately nothing: the data stays on the Docker host (INVARIANTS 7).
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class DockerVolume extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly mountpoint: pulumi.Output<string>;

    constructor(name: string, args: DockerVolumeArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, mountpoint: undefined }, { retainOnDelete: true, ...opts }, "docker", "Volume");
    }
}
