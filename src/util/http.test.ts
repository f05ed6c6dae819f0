import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { networkFailure } from "../services/external.js";
import { httpGet } from "./http.js";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A loopback server answering each request with `handler`; its base URL. */
function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  return new Promise((resolve) =>
    server?.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server?.address() as AddressInfo).port}`)),
  );
}

describe("httpGet", () => {
  it("returns status, headers and body, sends the given headers, and follows no redirect", async () => {
    const base = await serve((req, res) => {
      if (req.url === "/moved") return res.writeHead(302, { location: "/elsewhere" }).end();
      res.writeHead(req.headers["api-key"] === "k" ? 200 : 401, { link: '</next>; rel="next"', "content-type": "application/json" });
      res.end(JSON.stringify({ repositories: ["a", "b"] }));
    });
    const ok = await httpGet(`${base}/v2/_catalog`, { headers: { "api-key": "k" }, timeoutMs: 2000 });
    expect([ok.status, ok.headers.link, ok.json<{ repositories: string[] }>().repositories]).toEqual([
      200,
      '</next>; rel="next"',
      ["a", "b"],
    ]);
    expect((await httpGet(`${base}/x`, { timeoutMs: 2000 })).status).toBe(401);
    expect((await httpGet(`${base}/moved`, { timeoutMs: 2000 })).status).toBe(302);
  });

  it("a server that never answers: an error saying it timed out, classified unreachable", async () => {
    const base = await serve(() => undefined);
    const err = await httpGet(base, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(String(err)).toContain("no answer within 0.2s (timed out)");
    expect(networkFailure(err)?.kind).toBe("unreachable");
  });

  it("a closed port keeps Node's code (ECONNREFUSED: unreachable); the caller's signal stops it as the caller's abort", async () => {
    const base = await serve((_req, res) => res.end());
    const port = new URL(base).port;
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const refused = await httpGet(`http://127.0.0.1:${port}/`, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(networkFailure(refused)?.kind).toBe("unreachable");
    const hanging = await serve(() => undefined);
    const stop = new AbortController();
    const pending = httpGet(hanging, { timeoutMs: 5000, signal: stop.signal }).catch((e: unknown) => e);
    stop.abort();
    expect(String(await pending)).not.toContain("timed out");
    expect(((await pending) as Error).name).toBe("AbortError");
  });

  it("refuses a body larger than maxBytes", async () => {
    const base = await serve((_req, res) => res.end("x".repeat(5000)));
    await expect(httpGet(base, { timeoutMs: 2000, maxBytes: 1000 })).rejects.toThrow("larger than 1000 bytes");
  });
});
