import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIFY_DOMAINS } from "../../helm/index.js";
import { askIngress } from "./answer.js";

/** A local HTTP server answering 404 with a Server header, as ingress-nginx's default backend does, and the Host it was asked for. */
function listen(host: string): Promise<{ server: Server; port: number; hosts: string[] }> {
  const hosts: string[] = [];
  const server = createServer((req, res) => {
    hosts.push(req.headers.host ?? "");
    res.writeHead(404, { Server: "nginx" }).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : 0, hosts });
    });
  });
}

describe("askIngress", () => {
  const servers: Server[] = [];
  let v4: Awaited<ReturnType<typeof listen>>;
  let v6: Awaited<ReturnType<typeof listen>> | undefined;
  beforeAll(async () => {
    v4 = await listen("127.0.0.1");
    servers.push(v4.server);
    v6 = await listen("::1").catch(() => undefined);
    if (v6) servers.push(v6.server);
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it("gives the status and Server header of what answers, asking for Dify's console host", async () => {
    expect(await askIngress("127.0.0.1", v4.port)).toEqual({ status: 404, server: "nginx" });
    expect(v4.hosts).toEqual([DIFY_DOMAINS.console]);
  });

  it("reaches an IPv6 address, not localhost in its place", async (ctx) => {
    if (!v6) return ctx.skip();
    expect(await askIngress("::1", v6.port)).toEqual({ status: 404, server: "nginx" });
  });

  it("says why nothing answered: the error code", async () => {
    const { server, port } = await listen("127.0.0.1");
    await new Promise((r) => server.close(r));
    const answer = await askIngress("127.0.0.1", port);
    expect(answer).toMatchObject({ error: expect.stringMatching(/^ECONNREFUSED/) as unknown });
  });
});
