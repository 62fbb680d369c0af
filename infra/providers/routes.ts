// The balancer's routes (render/nginx.ts renderRoutes) as a resource of their own that only ever updates in place
// (issue #12): an nginx instance takes its routes from here, not from the colours' address holders directly. So when
// a holder is replaced (old one first, its name is fixed), Pulumi has no reason to take the running nginx instance
// down with it: the routes update, and a new instance with them takes over from the old one.
import * as pulumi from "@pulumi/pulumi";
import { renderRoutes, type RoutesInput, type RoutesTls } from "../render/nginx";
import { diffInputs } from "./diff";

export interface RoutesArgs {
    readonly stack: string;
    readonly backends: pulumi.Input<Record<string, pulumi.Input<{ host: string; port: number; addressId: pulumi.Input<string> }>>>;
    readonly listenPort: number;
    readonly tls?: RoutesTls;
}

type Inputs = RoutesInput;
interface Outputs extends Inputs {
    content: string;
}

export const provider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        return diffInputs(olds as never, news as never, { outputs: ["content"], inPlace: ["stack", "backends", "listenPort", "tls"] });
    },
    async create(inputs: Inputs) {
        return { id: `routes-${inputs.stack}`, outs: { ...inputs, content: renderRoutes(inputs) } };
    },
    async update(_id: string, _olds: Outputs, news: Inputs) {
        return { outs: { ...news, content: renderRoutes(news) } };
    },
    async delete() {
        // Text only: each nginx instance has its own copy.
    },
} satisfies pulumi.dynamic.ResourceProvider;

export class Routes extends pulumi.dynamic.Resource {
    declare readonly content: pulumi.Output<string>;

    constructor(name: string, args: RoutesArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, content: undefined }, opts, "nginx", "Routes");
    }
}
