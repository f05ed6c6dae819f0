/**
 * Secrets are never printed (issue 8 §4): a whole session through the built CLI with non-default
 * secrets — up, a rerun with --json, status, verify, info, doctor, values to files and --merge, a
 * password change seen by `up --dry-run`, a conflict with a hand-made container, and a readiness
 * failure whose log tail holds a password, with --verbose — and every byte of stdout and stderr
 * searched for every secret: the configured ones, the changed one, the hand-made containers'
 * ones and the generated chart secrets. Only `info --show-secrets` and `values` on stdout may
 * print them (and the test checks they do, so the search is not vacuous).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ConfigInput } from "../../src/config/index.js";
import { runCli, type CliRun } from "../support/cli.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const BASE = 23100;
const SECRETS = {
  postgres: "pg-S3cret-e2e-7f3a",
  redis: "rd-S3cret-e2e-91bc",
  minio: "mn-S3cret-e2e-55de",
  qdrant: "qd-S3cret-e2e-a0c4",
  /** redis.password after the change `up --dry-run` plans for. */
  changed: "rd-Changed-e2e-2d71",
  /** The password of a hand-made Redis that stands in the way (a conflict). */
  handMade: "rd-HandMade-e2e-6e0f",
  /** The password of a hand-made Redis that exits at once, printing its command line. */
  broken: "rd-Broken-e2e-0b5e",
} as const;

const withSecrets = (extra: ConfigInput = {}): ConfigInput =>
  testConfig("secrets-cli", BASE, {
    postgres: { password: SECRETS.postgres },
    redis: { password: SECRETS.redis },
    minio: { rootPassword: SECRETS.minio },
    qdrant: { apiKey: SECRETS.qdrant },
    ...extra,
  });
const config = withSecrets();
const HAND_MADE = "dlt-secrets-cli-hand-redis";
const BROKEN = "dlt-secrets-cli-broken-redis";
const conflictConfig = withSecrets({ redis: { ...config.redis, container: HAND_MADE, password: SECRETS.redis } });
const brokenConfig = withSecrets({ redis: { ...config.redis, container: BROKEN, port: BASE + 10, password: SECRETS.broken } });

let dir: string;
let configDir: string;
/** Every run of the session, with whether it may print secrets. */
const runs: Array<{ args: string[]; run: CliRun; mayShowSecrets: boolean }> = [];

async function cli(args: string[], options: { mayShowSecrets?: boolean } = {}): Promise<CliRun> {
  const run = await runCli(args, dir, { DIFY_LOCAL_CONFIG_DIR: configDir });
  runs.push({ args, run, mayShowSecrets: options.mayShowSecrets ?? false });
  return run;
}

async function removeHandMade(): Promise<void> {
  for (const name of [HAND_MADE, BROKEN]) {
    await docker
      .getContainer(name)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
}

describe.skipIf(!inject("engine"))("secrets are never printed (the built CLI, a whole session)", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-e2e-secrets-"));
    configDir = join(dir, "user-config");
    await writeFile(join(dir, "dify-local.yaml"), stringify(config));
    await writeFile(join(dir, "changed.yaml"), stringify(withSecrets({ redis: { ...config.redis, password: SECRETS.changed } })));
    await writeFile(join(dir, "conflict.yaml"), stringify(conflictConfig));
    await writeFile(join(dir, "broken.yaml"), stringify(brokenConfig));
    await removeHandMade();
    await cleanup(config);
  });
  afterAll(async () => {
    await removeHandMade();
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("up, a rerun, status, verify, info and doctor, plain and --json", async () => {
    const first = await cli(["up"]);
    expect(first.code, first.stderr).toBe(0);
    expect((await cli(["up", "--json"])).code).toBe(0);
    for (const args of [["status"], ["status", "--json"], ["verify"], ["verify", "--json"], ["info"], ["info", "--json"]]) {
      const run = await cli(args);
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(0);
    }
    const info = runs.at(-2)?.run;
    expect(info?.stdout).toContain("password   ********");
    for (const args of [["doctor"], ["doctor", "--json"]]) expect((await cli(args)).code).toBeLessThanOrEqual(1);
  });

  it("values to files, --merge and doctor --values print no secret; the files hold them, mode 0600", async () => {
    const written = await cli(["values", "-o", "infra-values.yaml"]);
    expect(written.code, written.stderr).toBe(0);
    const text = await readFile(join(dir, "infra-values.yaml"), "utf8");
    for (const s of [SECRETS.postgres, SECRETS.redis, SECRETS.minio, SECRETS.qdrant]) expect(text).toContain(s);
    expect((await stat(join(dir, "infra-values.yaml"))).mode & 0o777).toBe(0o600);
    expect((await cli(["values", "--json", "-o", "infra-values.yaml"])).code).toBe(0);
    expect((await cli(["values", "--format", "env", "-o", "infra.env"])).code).toBe(0);
    await writeFile(join(dir, "values.yaml"), "# mine\nglobal:\n  consoleApiDomain: console.dify.local\n");
    const merged = await cli(["values", "--merge", "values.yaml"]);
    expect(merged.code, merged.stderr).toBe(0);
    expect((await readFile(join(dir, "values.yaml"), "utf8")).includes(SECRETS.minio)).toBe(true);
    expect((await cli(["doctor", "--values", "values.yaml"])).code).toBeLessThanOrEqual(1);
    expect((await cli(["doctor", "--json", "--values", "values.yaml"])).code).toBeLessThanOrEqual(1);
  });

  it("up --dry-run after a password change names the change without either password", async () => {
    const dry = await cli(["up", "--dry-run", "--config", "changed.yaml"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`recreate\\s+${config.redis?.container}\\s+`));
    expect(dry.stdout).toContain("command differs from the config in the value of --requirepass (not shown)");
    expect((await cli(["up", "--dry-run", "--json", "--config", "changed.yaml"])).code).toBe(0);
    // verify and status against the changed config fail on Redis's password, without printing it.
    expect((await cli(["verify", "--config", "changed.yaml"])).code).toBe(1);
    expect((await cli(["verify", "--json", "--config", "changed.yaml"])).code).toBe(1);
    expect((await cli(["status", "--config", "changed.yaml"])).code).toBe(0);
  });

  it("a conflict with a hand-made Redis, with --verbose: exit 4, its command shown masked", async () => {
    const hand = await docker.createContainer({
      name: HAND_MADE,
      Image: FIXTURE_IMAGES.redis,
      Cmd: ["redis-server", "--requirepass", SECRETS.handMade, "--appendonly", "no"],
    });
    await hand.start();
    const run = await cli(["up", "--verbose", "--config", "conflict.yaml"]);
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain(`${HAND_MADE}: made outside dify-local and differs from the config`);
    expect(run.stderr).toContain("--requirepass ********");
    expect((await cli(["up", "--verbose", "--json", "--config", "conflict.yaml"])).code).toBe(4);
    expect((await cli(["up", "--dry-run", "--config", "conflict.yaml"])).code).toBe(0);
    expect((await cli(["up", "--dry-run", "--json", "--config", "conflict.yaml"])).code).toBe(0);
  });

  it("a readiness failure whose log tail holds the password, with --verbose: exit 1, the lines shown masked", async () => {
    // Made by hand as the config wants it (same image, command and port: adopted), but its
    // entrypoint prints the command line, password included, and exits.
    await docker.createContainer({
      name: BROKEN,
      Image: FIXTURE_IMAGES.redis,
      Entrypoint: ["sh", "-c", 'echo "starting $*"; exit 1', "sh"],
      Cmd: ["redis-server", "--requirepass", SECRETS.broken, "--appendonly", "yes"],
      ExposedPorts: { "6379/tcp": {} },
      HostConfig: { PortBindings: { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(BASE + 10) }] } },
    });
    const run = await cli(["up", "--verbose", "--config", "broken.yaml"]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain("starting redis-server --requirepass ********");
    // The stack trace came too (it repeats the message).
    expect(run.stderr).toMatch(/^\s+at /m);
    expect((await cli(["up", "--verbose", "--json", "--config", "broken.yaml"])).code).toBe(1);
    const doctor = await cli(["doctor", "--config", "broken.yaml"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("starting redis-server --requirepass ********");
    expect((await cli(["doctor", "--json", "--config", "broken.yaml"])).code).toBe(1);
  });

  it("only info --show-secrets and values on stdout print them", async () => {
    const shown = await cli(["info", "--show-secrets"], { mayShowSecrets: true });
    const values = await cli(["values"], { mayShowSecrets: true });
    const valuesJson = await cli(["values", "--json"], { mayShowSecrets: true });
    for (const s of [SECRETS.postgres, SECRETS.redis, SECRETS.minio, SECRETS.qdrant]) {
      expect(shown.stdout).toContain(s);
      expect(values.stdout).toContain(s);
      expect(valuesJson.stdout).toContain(s);
    }
    // Neither prints a secret on stderr.
    for (const run of [shown, values, valuesJson]) for (const s of Object.values(SECRETS)) expect(run.stderr).not.toContain(s);

    const chart = JSON.parse(await readFile(join(configDir, "secrets.json"), "utf8")) as Record<string, string>;
    const chartSecrets = ["appSecretKey", "enterpriseAppSecretKey", "adminAPIsSecretKeySalt", "passwordEncryptionKey"].map(
      (k) => chart[k] ?? "",
    );
    for (const s of chartSecrets) expect(values.stdout).toContain(s);

    expect((await cli(["down"])).code).toBe(0);
    const searched = [...Object.values(SECRETS), ...chartSecrets];
    const leaks = runs
      .filter((r) => !r.mayShowSecrets)
      .flatMap((r) =>
        searched.flatMap((s) =>
          (["stdout", "stderr"] as const)
            .filter((stream) => r.run[stream].includes(s))
            .map((stream) => `${r.args.join(" ")} (${stream}): ${s}`),
        ),
      );
    expect(leaks).toEqual([]);
    // The session covered what the issue lists.
    expect(runs.length).toBeGreaterThanOrEqual(30);
  });
});
