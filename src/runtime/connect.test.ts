import { describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modemOptions, resolveEngine } from "./connect.js";

describe("resolveEngine", () => {
  it("honours DOCKER_HOST", () => {
    expect(resolveEngine({ DOCKER_HOST: "tcp://10.0.0.1:2375" }, () => true)).toEqual({
      address: "tcp://10.0.0.1:2375",
      via: "DOCKER_HOST",
    });
  });
  it("finds Colima's socket when the system socket is absent", () => {
    const r = resolveEngine({}, (p) => p.endsWith(".colima/default/docker.sock"));
    expect(r.address).toMatch(/\.colima\/default\/docker\.sock$/);
    expect(r.via).toBe("discovered");
  });
  it("prefers the system socket", () => {
    expect(resolveEngine({}, () => true).address).toBe("unix:///var/run/docker.sock");
  });
});

describe("modemOptions", () => {
  it("reads a unix socket path", () => {
    expect(modemOptions("unix:///tmp/x.sock", {})).toMatchObject({ socketPath: "/tmp/x.sock" });
  });
  it("over a socket file: an agent that keeps the connection alive, as Node's default does, and works out no TLS server name", async () => {
    const { agent } = modemOptions("unix:///tmp/x.sock", {});
    // Node's agent skips the server name (asking whether `localhost` is an IP address) when it is given.
    expect((agent as unknown as { options: { servername?: string } }).options.servername).toBe("");
    const dir = await mkdtemp(join(tmpdir(), "dl-agent-"));
    const socketPath = join(dir, "engine.sock");
    const connections: unknown[] = [];
    const server = createServer((_req, res) => res.end("OK")).on("connection", (c) => connections.push(c));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      for (let i = 0; i < 2; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          get({ socketPath, path: "/_ping", agent }, (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString())).on("end", () => resolve(text));
          }).on("error", reject);
        });
        expect(body).toBe("OK");
      }
      expect(connections).toHaveLength(1);
    } finally {
      agent?.destroy();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
  it("reads tcp with TLS from the given environment, not process.env", () => {
    expect(modemOptions("tcp://10.1.2.3:2376", {})).toMatchObject({ protocol: "https", host: "10.1.2.3", port: "2376" });
    expect(modemOptions("tcp://10.1.2.3:2375", {})).toMatchObject({ protocol: "http", port: "2375" });
    expect(modemOptions("10.1.2.3:2375", { DOCKER_TLS_VERIFY: "1" })).toMatchObject({ protocol: "https" });
  });
});
