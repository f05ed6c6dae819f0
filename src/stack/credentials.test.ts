import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../errors.js";
import { SERVICES } from "../services/index.js";
import { Redactor } from "../util/index.js";
import { resolveConfig } from "./context.js";
import { credentialsFile, loadOrCreateCredentials, randomCredential, readCredentials, secretFields } from "./credentials.js";
import { learnSecrets } from "./redaction.js";

let root: string;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "dlt-credentials-"));
  env = { DIFY_LOCAL_CONFIG_DIR: join(root, "config") };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;
const SEED = { postgres: "devpassword", redis: "devpassword", minio: "minioadmin123", qdrant: "devpassword" };

describe("generated credentials", () => {
  it("covers every secret field of the built-in services, and only those", () => {
    expect(secretFields(SERVICES).map((f) => `${f.section}.${f.key}`)).toEqual([
      "postgres.password",
      "redis.password",
      "minio.rootPassword",
      "qdrant.apiKey",
    ]);
  });

  it("generates 32 letters and digits, each call its own", () => {
    const a = randomCredential();
    expect(a).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(randomCredential()).not.toBe(a);
  });

  it("two first runs at once agree on one set, kept 0600 in a 0700 directory", async () => {
    const file = credentialsFile(join(root, "config"), ["a", "b"]);
    const fields = secretFields(SERVICES);
    const runs = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateCredentials(file, fields, ["a", "b"], true)));
    for (const run of runs) expect(run.values).toEqual(runs[0]?.values);
    expect(await readCredentials(file)).toEqual(runs[0]?.values);
    expect(await mode(file)).toBe(0o600);
    expect(await mode(join(root, "config", "credentials"))).toBe(0o700);
    // No temporary file is left behind by the runs that lost.
    expect(await readdir(join(root, "config", "credentials"))).toHaveLength(1);
  });

  it("without persist (a dry run) writes nothing", async () => {
    const file = credentialsFile(join(root, "config"), ["a"]);
    const run = await loadOrCreateCredentials(file, secretFields(SERVICES), ["a"], false);
    expect(run.values.postgres?.password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await readCredentials(file)).toBeUndefined();
  });

  it("a damaged file is a UserError naming it, never replaced", async () => {
    const file = credentialsFile(join(root, "config"), ["a"]);
    await loadOrCreateCredentials(file, secretFields(SERVICES), ["a"], true);
    await writeFile(file, '{"values": {"postgres": {"password": 42}}}');
    const err = await readCredentials(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain(file);
    expect(await readFile(file, "utf8")).toContain("42");
  });
});

describe("resolveConfig with credentials", () => {
  const names = (id: string) => ({
    postgres: { container: `pg-${id}` },
    redis: { container: `rd-${id}` },
    minio: { container: `mn-${id}` },
    qdrant: { container: `qd-${id}` },
    registry: { container: `reg-${id}` },
  });

  it("by default uses the seed's passwords and writes nothing", async () => {
    const { config, credentials } = await resolveConfig({ config: names("seed"), env });
    expect(credentials.mode).toBe("seed");
    expect([config.postgres.password, config.redis.password, config.minio.rootPassword, config.qdrant.apiKey]).toEqual(Object.values(SEED));
    await expect(readdir(join(root, "config"))).rejects.toThrow();
  });

  it("credentials: generate replaces every default secret, keeps user names, and every later command gets the same set", async () => {
    const first = await resolveConfig({ config: { ...names("gen"), credentials: "generate" }, env });
    const c = first.config;
    const generated = [c.postgres.password, c.redis.password, c.minio.rootPassword, c.qdrant.apiKey];
    for (const value of generated) expect(value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set(generated).size).toBe(4);
    expect([c.postgres.user, c.minio.rootUser]).toEqual(["postgres", "minioadmin"]);
    expect(first.credentials).toMatchObject({ mode: "generate", created: true });
    // A later command without the setting (status, verify, info, values) finds the same set.
    const later = await resolveConfig({ config: names("gen"), env });
    expect(later.credentials).toMatchObject({ mode: "generate", created: false, file: first.credentials.file });
    expect(later.config.postgres.password).toBe(c.postgres.password);
    expect(later.config.qdrant.apiKey).toBe(c.qdrant.apiKey);
    // Another configuration (other container names) does not.
    expect((await resolveConfig({ config: names("other"), env })).config.postgres.password).toBe(SEED.postgres);
    // credentials: seed goes back to the seed's.
    expect((await resolveConfig({ config: { ...names("gen"), credentials: "seed" }, env })).config.redis.password).toBe(SEED.redis);
    // The redactor learns the generated ones, as every configured secret.
    const redactor = new Redactor();
    learnSecrets(redactor, later.services, later.config);
    expect(redactor.redact(`x ${generated.join(" ")} y`)).not.toMatch(/[A-Za-z0-9]{32}/);
  });

  it("a password the user set always wins over the generated one", async () => {
    const { config } = await resolveConfig({
      config: { ...names("mine"), credentials: "generate", redis: { ...names("mine").redis, password: "my-own-redis" } },
      env,
    });
    expect(config.redis.password).toBe("my-own-redis");
    expect(config.postgres.password).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it("generates nothing for an external service: its credentials are its owner's", async () => {
    const external = { host: "db.internal", user: "dify", password: "owners-password" };
    const { config } = await resolveConfig({
      config: { ...names("ext"), credentials: "generate", postgres: { ...names("ext").postgres, external } },
      env,
    });
    expect(config.postgres.external?.password).toBe("owners-password");
    expect(config.redis.password).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it("works from a YAML file too, the file's own password winning", async () => {
    const file = join(root, "dify-local.yaml");
    await writeFile(file, "credentials: generate\npostgres:\n  container: pg-file\n  password: from-the-file\n");
    const { config } = await resolveConfig({ configFile: file, env });
    expect(config.postgres.password).toBe("from-the-file");
    expect(config.redis.password).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it("rejects an unknown mode naming the key", async () => {
    const err = await resolveConfig({ config: { credentials: "strong" as "seed" }, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/credentials: must be one of seed, generate/);
  });
});
