// How the pack recognises NotesHub's resources. Every dynamic resource could share one type
// (pulumi-nodejs:dynamic:Resource), so each resource the pack reads carries a `kind` of our own; containers are
// known by their `io.noteshub.role` label. The shapes below mirror what infra/ declares (plain values only, so
// every policy is judged at preview time too: reading an unknown would downgrade a policy to advisory).

export interface Touches {
    indexesCreated: string[];
    indexesDropped: string[];
    fieldsSet: string[];
    fieldsRemoved: string[];
    fieldsRenamed: string[];
    fieldsRenamedTo: string[];
    collectionsCreated: string[];
    collectionsDropped: string[];
    restoresBackup: boolean;
    documentsDeleted: string[];
    documentsReplaced: string[];
    collectionsRenamed: string[];
    collectionsRenamedTo: string[];
    collectionsOverwritten: string[];
    collectionsRewritten: string[];
    databaseDropped: boolean;
    unreadable: string[];
}

export interface ScriptDescriptor {
    file: string;
    checksum: string;
    format: "commands" | "code";
    commands: number;
    emptyBody: boolean;
    touches: Touches;
}

export interface MigrationDescriptor {
    id: string;
    seq: number;
    up: ScriptDescriptor;
    down: ScriptDescriptor | null;
}

export interface MigrationsProps {
    kind: "Migrations";
    descriptors: MigrationDescriptor[];
    /** Highest migration number a running version needs: what this update brings the database to. */
    target: number;
}

export interface ReleaseProps {
    kind: "Release";
    stack: string;
    environment: string;
    activeColor: string;
    versions: Record<string, string>;
    retainedVersions: Record<string, string>;
    schema: Record<string, number>;
    traffic: number;
    /** How Pulumi.<stack>.yaml holds the database password. */
    databasePassword: "secret" | "plaintext" | "absent" | "unknown";
}

export interface TrafficStateProps {
    kind: "TrafficState";
    weights?: Record<string, number>;
}

export interface GateProps {
    kind: "HealthGate";
    color: string;
    version: string;
    live: boolean;
}

export interface ContainerProps {
    name: string;
    labels: Record<string, string>;
    env?: Record<string, string>;
    user?: string;
    ports?: { container: number; host: number; hostIp: string }[];
    securityOpt?: string[];
    capDrop?: string[];
    capAdd?: string[];
    privileged?: boolean;
}

/** The part of a PolicyResource / ResourceValidationArgs the pack reads. */
export interface ResourceLike {
    urn: string;
    name: string;
    props: Record<string, any>;
    dependencies?: ResourceLike[];
    propertyDependencies?: Record<string, ResourceLike[]>;
}

export const kindOf = (r: { props: Record<string, any> }): string | undefined =>
    typeof r.props?.kind === "string" ? r.props.kind : undefined;

export const roleOf = (r: { props: Record<string, any> }): string | undefined => {
    const role = r.props?.labels?.["io.noteshub.role"];
    return typeof role === "string" && typeof r.props.image === "string" ? role : undefined;
};

export function ofKind<T>(resources: ResourceLike[], kind: string): (ResourceLike & { props: T })[] {
    return resources.filter((r) => kindOf(r) === kind) as (ResourceLike & { props: T })[];
}

/** "a, b and c" */
export function listed(items: string[]): string {
    return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
