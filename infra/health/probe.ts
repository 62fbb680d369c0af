// One HTTP probe of a colour, made with curl inside the balancer container: on the stack network, so it works the
// same on a local or remote Docker host (the health gate and the operator's commands both use it).
import type Dockerode from "dockerode";
import { execIn } from "../docker/engine";
import type { Probe } from "./verdict";

export async function probeVia(docker: Dockerode, probeContainerId: string, target: { host: string; port: number }, method: string, path: string, timeoutMs: number): Promise<Probe> {
    const marker = "\n__noteshub_status__";
    const url = `http://${target.host}:${target.port}${path}`;
    const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    // -g: a path is sent as written; curl's URL globbing would read [ ] { } in a smoke check's query as ranges.
    const r = await execIn(docker, probeContainerId, ["curl", "-sS", "-g", "-X", method, "-m", secs, "-w", `${marker}%{http_code}`, url]);
    const i = r.stdout.lastIndexOf(marker);
    const status = i >= 0 ? Number(r.stdout.slice(i + marker.length)) : 0;
    return { status, body: i >= 0 ? r.stdout.slice(0, i) : r.stdout, error: status === 0 ? r.stderr.trim() || `curl exited ${r.exitCode}` : undefined };
}
