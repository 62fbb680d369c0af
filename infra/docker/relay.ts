// A TCP relay to the database through the Docker engine: each local connection becomes a `docker exec` in the
// database container that pipes stdin/stdout to 127.0.0.1:<port> with bash's /dev/tcp (both the official mongo
// image and images/ferretdb have bash). It needs no published port, so migrations reach the database the same way
// on a local socket, tcp:// or ssh:// engine, and production keeps its database off the host.
import type Dockerode from "dockerode";
import type { AddressInfo, Server, Socket } from "node:net";

export interface Relay {
    /** host:port on this machine that reaches the database. */
    readonly address: string;
    close(): Promise<void>;
}

// The client's bytes go to the server and back; whichever side closes first ends both.
const PIPE = 'exec 3<>/dev/tcp/127.0.0.1/"$1" || exit 7; cat <&3 & a=$!; cat >&3 <&0 & b=$!; wait -n; kill $a $b 2>/dev/null; exit 0';

export async function openRelay(docker: Dockerode, containerId: string, port: number): Promise<Relay> {
    const net = require("net") as typeof import("net");
    const { PassThrough } = require("stream") as typeof import("stream");
    const sockets = new Set<Socket>();
    const server: Server = net.createServer(async (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        try {
            const exec = await docker.getContainer(containerId).exec({
                Cmd: ["bash", "-c", PIPE, "relay", String(port)], AttachStdin: true, AttachStdout: true, AttachStderr: true,
            });
            const stream = (await exec.start({ hijack: true, stdin: true })) as unknown as Socket;
            const out = new PassThrough();
            const err = new PassThrough();
            docker.modem.demuxStream(stream, out, err);
            out.pipe(socket);
            socket.pipe(stream);
            const done = () => {
                socket.destroy();
                stream.destroy();
            };
            stream.on("end", done);
            stream.on("close", done);
            stream.on("error", done);
            socket.on("error", done);
            socket.on("close", done);
        } catch {
            socket.destroy();
        }
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
    const { port: local } = server.address() as AddressInfo;
    return {
        address: `127.0.0.1:${local}`,
        close: () => new Promise<void>((resolve) => {
            for (const s of sockets) s.destroy();
            server.close(() => resolve());
        }),
    };
}
