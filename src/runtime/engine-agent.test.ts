import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, get, type Agent } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connectDocker } from "./connect.js";
import { AnswerCutError, engineAgent } from "./engine-agent.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function socketPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dl-agent-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "engine.sock");
}

async function listen(server: Server, at: string | number): Promise<void> {
  await new Promise<void>((resolve) => (typeof at === "string" ? server.listen(at, resolve) : server.listen(at, "127.0.0.1", resolve)));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
}

/** An engine double that answers the ping, then begins every other answer and hangs up in the middle of it. */
function cuttingEngine(): Server {
  const sockets = new Set<Socket>();
  cleanups.push(async () => sockets.forEach((s) => s.destroy()));
  return createServer((socket) => {
    sockets.add(socket);
    socket.on("data", (request) => {
      if (request.toString().startsWith("GET /_ping")) {
        socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK");
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{"Id\r\n');
      setTimeout(() => socket.destroy(), 20);
    });
  });
}

function fetchBody(agent: Agent, socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ socketPath: socket, path: "/_ping", agent }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString())).on("end", () => resolve(text));
    }).on("error", reject);
  });
}

describe("engineAgent", () => {
  it("an answer cut off in the middle fails the call, over a socket file and over TCP: it never hangs", async () => {
    const path = await socketPath();
    await listen(cuttingEngine(), path);
    const overSocket = await connectDocker({ DOCKER_HOST: `unix://${path}` });
    await expect(overSocket.docker.listContainers({ all: true })).rejects.toThrow(/in the middle of its answer/);

    const tcp = cuttingEngine();
    await listen(tcp, 0);
    const port = (tcp.address() as { port: number }).port;
    const overTcp = await connectDocker({ DOCKER_HOST: `tcp://127.0.0.1:${port}` });
    await expect(overTcp.docker.listContainers({ all: true })).rejects.toBeInstanceOf(AnswerCutError);
  });

  it("keeps the connection alive between requests, as Node's default agent does, and works out no TLS server name", async () => {
    const agent = engineAgent("socket");
    cleanups.push(async () => agent.destroy());
    expect((agent as unknown as { options: { servername?: string } }).options.servername).toBe("");
    const path = await socketPath();
    const connections: unknown[] = [];
    const server = createHttpServer((_req, res) => res.end("OK")).on("connection", (c) => connections.push(c));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    expect(await fetchBody(agent, path)).toBe("OK");
    expect(await fetchBody(agent, path)).toBe("OK");
    expect(connections).toHaveLength(1);
  });

  it("a complete answer raises no error on its request", async () => {
    const agent = engineAgent("socket");
    cleanups.push(async () => agent.destroy());
    const path = await socketPath();
    const server = createHttpServer((_req, res) => res.end("whole"));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const errors: unknown[] = [];
    await new Promise<void>((resolve) => {
      get({ socketPath: path, path: "/", agent }, (res) => {
        res.resume().on("end", () => setTimeout(resolve, 20));
      }).on("error", (err) => errors.push(err));
    });
    expect(errors).toEqual([]);
  });
});
