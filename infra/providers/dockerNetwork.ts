// A user-defined bridge network per stack: containers find each other by name (nginx -> colours -> database).
import * as pulumi from "@pulumi/pulumi";
import { connect, engineError, statusOf, type DockerConnection } from "../docker/engine";
import { diffInputs } from "./diff";

export interface DockerNetworkArgs {
    readonly docker: pulumi.Input<DockerConnection>;
    readonly name: pulumi.Input<string>;
    readonly labels?: pulumi.Input<Record<string, string>>;
}

interface Inputs {
    docker: DockerConnection;
    name: string;
    labels?: Record<string, string>;
}
interface Outputs extends Inputs {
    networkId: string;
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        return diffInputs(olds as never, news as never, { outputs: ["networkId"], inPlace: ["docker"], deleteBeforeReplace: true });
    },
    async create(inputs: Inputs) {
        const docker = connect(inputs.docker);
        const target = `network ${inputs.name}`;
        try {
            // Adopt a network left by an interrupted run (same name and labels) instead of failing on the name.
            const existing = await docker.getNetwork(inputs.name).inspect().catch((err: unknown) => {
                if (statusOf(err) === 404) return undefined;
                throw err;
            });
            if (existing) {
                const ours = Object.entries(inputs.labels ?? {}).every(([k, v]) => existing.Labels?.[k] === v);
                if (!ours) throw new Error(`docker: create ${target}: a network with this name exists and is not this stack's; remove it (docker network rm ${inputs.name}) or rename the stack`);
                return { id: existing.Id, outs: { ...inputs, networkId: existing.Id } };
            }
            const net = await docker.createNetwork({ Name: inputs.name, Driver: "bridge", CheckDuplicate: true, Labels: inputs.labels ?? {} });
            return { id: net.id, outs: { ...inputs, networkId: net.id } };
        } catch (err) {
            if (err instanceof Error && err.message.startsWith("docker:")) throw err;
            throw engineError("create", target, inputs.docker, err);
        }
    },
    async update(_id: string, olds: Outputs, news: Inputs) {
        return { outs: { ...olds, docker: news.docker } };
    },
    async delete(id: string, props: Outputs) {
        try {
            await connect(props.docker).getNetwork(id).remove();
        } catch (err) {
            if (statusOf(err) === 404) return;
            throw engineError("remove", `network ${props.name}`, props.docker, err);
        }
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class DockerNetwork extends pulumi.dynamic.Resource {
    declare readonly name: pulumi.Output<string>;
    declare readonly networkId: pulumi.Output<string>;

    constructor(name: string, args: DockerNetworkArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, networkId: undefined }, opts, "docker", "Network");
    }
}
