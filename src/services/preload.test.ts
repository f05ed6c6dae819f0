import { describe, expect, it } from "vitest";
import { port, serviceSchema } from "./fields.js";
import { defineService, type ServiceDefinition } from "./service.js";

const schema = serviceSchema(
  { port: port.default(7000) },
  { container: "dlt-preload", image: "x:1", volume: "dlt-preload-data", restart: "no" },
);

function serviceWith(clients: ServiceDefinition<typeof schema>["clients"]) {
  return defineService({
    name: "preload",
    title: "Preload",
    schema,
    container: { dataDir: "/data", ports: (c) => [{ containerPort: 7000, hostPort: c.port, key: "port" }] },
    ...(clients ? { clients } : {}),
    probe: async () => undefined,
    checks: async () => [],
    endpoints: () => [],
  });
}

describe("preloading a service's client library", () => {
  it("starts the definition's loader at once, without waiting for it", () => {
    let started = 0;
    const service = serviceWith(() => {
      started++;
      return new Promise(() => undefined);
    });
    expect(service.preload()).toBeUndefined();
    expect(started).toBe(1);
  });

  it("leaves a failed load to the first real use: no rejection escapes (vitest fails the run on one)", async () => {
    const service = serviceWith(() => Promise.reject(new Error("no such module")));
    service.preload();
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("is a no-op for a service without a client library", () => {
    expect(() => serviceWith(undefined).preload()).not.toThrow();
  });
});
