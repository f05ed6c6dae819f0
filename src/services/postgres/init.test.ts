import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../config/index.js";
import type { Runtime } from "../../runtime/index.js";
import { postgres } from "./index.js";

/** A loopback port nothing listens on: any connection to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("postgres init, told what the probe saw", () => {
  it("asks nothing when the probe found every database; asks the server otherwise", async () => {
    const port = await closedPort();
    // No server at all: an init that connects fails, one that does not returns.
    const ctx = {
      config: parseConfig({ postgres: { port } }),
      runtime: undefined as unknown as Runtime,
      host: "127.0.0.1",
      container: undefined,
    };
    const init = postgres.init?.bind(postgres);
    if (!init) throw new Error("postgres has an init");
    await expect(init(ctx, { missing: [] })).resolves.toEqual([]);
    await expect(init(ctx, { missing: ["audit"] })).rejects.toThrow(/ECONNREFUSED|connect/);
    // Nothing seen (an external server's first call, a caller without a probe): it asks.
    await expect(init(ctx)).rejects.toThrow(/ECONNREFUSED|connect/);
    await expect(init(ctx, "something else")).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
