import { z } from "zod";
import { describe, expect, it } from "vitest";
import { observedContainer } from "../../test/support/observed.js";
import type { ObservedContainer } from "../runtime/index.js";
import { asSecret, secret, secretFieldValues, serviceSchema } from "./fields.js";
import { BUILTIN_SERVICES, minioSchema, postgresSchema, qdrantSchema, redisSchema, registrySchema } from "./index.js";
import { defineService, type StackConfig } from "./service.js";

const config = (sections: Record<string, unknown> = {}): StackConfig => ({
  bind: "127.0.0.1",
  readyTimeout: 120,
  registry: registrySchema.parse({}),
  postgres: postgresSchema.parse(sections.postgres ?? {}),
  redis: redisSchema.parse(sections.redis ?? {}),
  minio: minioSchema.parse(sections.minio ?? {}),
  qdrant: qdrantSchema.parse(sections.qdrant ?? {}),
});

const container = (over: Partial<ObservedContainer>): ObservedContainer =>
  observedContainer("x", { image: "redis:7", restart: "no", ...over });

describe("secret fields", () => {
  it("are found through objects, defaults, optionals and refinements", () => {
    const schema = z
      .object({
        name: z.string(),
        password: secret.default("pw-default"),
        nested: z.object({ token: asSecret(z.string()).optional(), plain: z.string().optional() }).default({}),
      })
      .refine(() => true);
    expect(secretFieldValues(schema, schema.parse({ name: "n", nested: { token: "t0k", plain: "p" } }))).toEqual(["pw-default", "t0k"]);
    expect(secretFieldValues(schema, { name: "n" })).toEqual([]);
  });

  it("of every built-in service are its passwords and keys, nothing else", () => {
    const c = config();
    expect(Object.fromEntries(Object.entries(BUILTIN_SERVICES).map(([name, s]) => [name, s.secrets(c, undefined)]))).toEqual({
      registry: [],
      postgres: ["devpassword"],
      redis: ["devpassword"],
      minio: ["minioadmin123"],
      qdrant: ["devpassword"],
    });
    expect(BUILTIN_SERVICES.minio.defaultSecrets()).toEqual(["minioadmin123"]);
    expect(BUILTIN_SERVICES.registry.defaultSecrets()).toEqual([]);
  });

  it("include the live ones a running container has when they differ from the config", () => {
    const c = config({ redis: { password: "configured" }, postgres: { password: "pg-configured" } });
    const redis = container({ cmd: ["redis-server", "--requirepass", "live-one", "--appendonly", "yes"] });
    expect(BUILTIN_SERVICES.redis.secrets(c, redis)).toEqual(["configured", "live-one"]);
    const pg = container({ env: { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: "pg-live" } });
    expect(BUILTIN_SERVICES.postgres.secrets(c, pg)).toEqual(["pg-configured", "pg-live"]);
  });

  it("of a caller's service come from its schema even without credentials", () => {
    const memo = defineService({
      name: "memo",
      title: "Memo",
      schema: serviceSchema(
        { token: secret.default("memo-token") },
        { container: "dev-memo", image: "memo:1", volume: "memo-data", restart: "no" },
      ),
      container: { dataDir: "/data", ports: () => [] },
      probe: async () => undefined,
      checks: async () => [],
      endpoints: () => [],
    });
    expect(memo.secrets({ ...config(), memo: memo.schema.parse({ token: "mine" }) }, undefined)).toEqual(["mine"]);
    expect(memo.defaultSecrets()).toEqual(["memo-token"]);
  });
});
