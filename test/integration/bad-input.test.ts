/**
 * Bad input (issue 8 §6), table-driven through the library's real entry points (`up`, `values`,
 * `doctor`; config files through `configFile`, objects through `config`): every case is a
 * UserError with exit code 2, its message names the key path with file:line (config files) or the
 * flag, a credential is never repeated, and the engine's containers, volumes and networks are
 * exactly as before (listed before the table and after every case). Each YAML snippet is completed
 * with this file's own names, fixture images and ports (support/engine-state.ts `overBase`), so a
 * case wrongly accepted would start this test's containers, never the seed's.
 *
 * Run alone: flock /tmp/dify-local-engine.lock npx vitest run --project integration test/integration/bad-input.test.ts
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { doctor, RecordingSink, up, UserError, values, type ConfigInput } from "../../src/index.js";
import { engineState, overBase, removeCreatedSince, type EngineState } from "../support/engine-state.js";
import { cleanup, testConfig } from "../support/stack.js";

const BASE = 23000;
const base = testConfig("badin", BASE);
/** 51 characters: one more than kind's limit. */
const LONG_NAME = `dify-${"x".repeat(46)}`;

/** Valid YAML (comments, then one key) just over 1 MiB. */
const BIG = `${"# padding\n".repeat(105_000)}bind: 127.0.0.1\n`;

let dir: string;
let before: EngineState;
let cases = 0;

/** Runs `run`, which must refuse with a UserError; checks exit code 2 and that the engine did not change. */
async function refused(run: (sink: RecordingSink) => Promise<unknown>): Promise<UserError> {
  const sink = new RecordingSink();
  const start = await engineState();
  const err = await run(sink).then(
    () => undefined,
    (e: unknown) => e,
  );
  cases++;
  expect(err, "accepted although it is bad input").toBeInstanceOf(UserError);
  const user = err as UserError;
  expect(user.exitCode).toBe(2);
  // Nothing started: no step ran, and the engine holds exactly what it held before the case.
  expect(sink.events).toEqual([]);
  expect(await engineState()).toEqual(start);
  return user;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// [label, snippet (completed over the base), key, line of the snippet, a value that must not be echoed]
type YamlCase = [string, string, string, number, string?];

const YAML_CASES: YamlCase[] = [
  ["an alias with no anchor", "bind: *nowhere\n", "bind", 1],
  ["a duplicate key", `postgres:\n  port: ${BASE + 1}\n  port: ${BASE + 11}\n`, "postgres.port", 3],
  ["an unknown tag", "bind: !ip 127.0.0.1\n", "bind", 1],
  ["an upper-case image repository (Redis:7)", "redis:\n  image: Redis:7\n", "redis.image", 2],
  ["an image reference of symbols (a@@::..//)", 'registry:\n  image: "a@@::..//"\n', "registry.image", 2],
  ["an image reference with an empty tag", 'postgres:\n  image: "postgres:"\n', "postgres.image", 2],
  ["a node image with a short digest", 'cluster:\n  nodeImage: "kindest/node@sha256:abc"\n', "cluster.nodeImage", 2],
  ["a bucket with two dots (a..b)", "minio:\n  bucket: a..b\n", "minio.bucket", 2],
  ["a bucket that is an IP address", "minio:\n  bucket: 192.168.1.1\n", "minio.bucket", 2],
  ["a bucket starting with -", 'minio:\n  bucket: "-abc"\n', "minio.bucket", 2],
  ["a bucket with S3's reserved xn-- prefix", "minio:\n  bucket: xn--dify\n", "minio.bucket", 2],
  ["a bucket with S3's reserved -s3alias suffix", "minio:\n  bucket: dify-s3alias\n", "minio.bucket", 2],
  ["a region with a newline", 'minio:\n  region: "us-east-1\\nx-amz-meta: 1"\n', "minio.region", 2],
  ["a cluster name longer than kind allows (51)", `cluster:\n  name: ${LONG_NAME}\n`, "cluster.name", 2],
  ["a cluster name kind refuses (upper case, _)", "cluster:\n  name: Dify_EE\n", "cluster.name", 2],
  ["a timeout of 0", "readyTimeout: 0\n", "readyTimeout", 1],
  ["a negative timeout", "readyTimeout: -5\n", "readyTimeout", 1],
  ["a huge timeout (1e12)", "cluster:\n  readyTimeout: 1e12\n", "cluster.readyTimeout", 2],
  ["a fractional timeout", "readyTimeout: 2.5\n", "readyTimeout", 1],
  ["an infinite timeout (.inf)", "readyTimeout: .inf\n", "readyTimeout", 1],
  ["a timeout with a unit", "readyTimeout: 120s\n", "readyTimeout", 1],
  ["a Redis password starting with --", 'redis:\n  password: "--port 6380"\n', "redis.password", 2, "--port 6380"],
  ["a PostgreSQL password with a newline", 'postgres:\n  password: "dev\\nsecret-pw"\n', "postgres.password", 2, "secret-pw"],
  ["a Qdrant api-key with NUL", 'qdrant:\n  apiKey: "key\\0secret-key"\n', "qdrant.apiKey", 2, "secret-key"],
  [
    "a MinIO password as a multi-line block",
    "minio:\n  rootPassword: |\n    first-secret-line\n",
    "minio.rootPassword",
    2,
    "first-secret-line",
  ],
  ["a MinIO access key with a reserved =", 'minio:\n  rootUser: "admin=root"\n', "minio.rootUser", 2],
  ["a port above 65535", "postgres:\n  port: 70000\n", "postgres.port", 2],
  ["port 0", "redis:\n  port: 0\n", "redis.port", 2],
  ["a negative port", "minio:\n  consolePort: -1\n", "minio.consolePort", 2],
  ["a port two services share", `redis:\n  port: ${BASE}\n`, "redis.port", 2],
  ["a port one service uses twice", `minio:\n  consolePort: ${BASE + 3}\n`, "minio.consolePort", 2],
  ["an unknown top-level key", "bnd: 0.0.0.0\n", "bnd", 1],
  ["an unknown key in a section", "postgres:\n  passwd: x\n", "postgres.passwd", 2],
  ["a string where a list belongs", "postgres:\n  databases: dify\n", "postgres.databases", 2],
  ["a string where a boolean belongs", 'cluster:\n  enabled: "no"\n', "cluster.enabled", 2],
  ["an empty container name", 'registry:\n  container: ""\n', "registry.container", 2],
  ["an empty bucket name", 'minio:\n  bucket: ""\n', "minio.bucket", 2],
  ["an empty bind address", 'bind: ""\n', "bind", 1],
  ["a database listed twice", "postgres:\n  databases: [dify, audit, dify]\n", "postgres.databases", 2],
  ["a template database", "postgres:\n  databases: [dify, template1]\n", "postgres.databases[1]", 2],
  ["bind that is a host name, not an IP", "bind: localhost\n", "bind", 1],
  ["bind that is not a valid IPv4 address", "bind: 256.1.1.1\n", "bind", 1],
  ["a section that is not a mapping", "postgres: 5\n", "postgres", 1],
  ["a container name two services share", "redis:\n  container: dlt-badin-postgres\n", "redis.container", 2],
];

describe.skipIf(!inject("engine"))("bad input: exit 2, the key or flag named, the engine unchanged", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-badin-"));
    await cleanup(base);
    before = await engineState();
  });
  afterAll(async () => {
    // Only a failing case leaves anything (a config wrongly accepted): remove what it made.
    if (before) await removeCreatedSince(before);
    await cleanup(base);
    await rm(dir, { recursive: true, force: true });
  });

  it.each(YAML_CASES)("config file: %s", async (label, snippet, key, snippetLine, secret) => {
    const file = join(dir, `${label.replace(/\W+/g, "-")}.yaml`);
    const { text, line } = overBase(snippet, base);
    await writeFile(file, text);
    const err = await refused((sink) => up({ configFile: file, sink }));
    expect(err.key).toBe(key);
    // `file:line: key: why` (a value the schema refuses) or `file:line:col: invalid YAML at key: why` (a YAML problem).
    expect(err.message).toMatch(new RegExp(`${escape(file)}:${line(snippetLine)}(:\\d+)?: (invalid YAML at )?${escape(key)}: \\S`));
    if (secret) expect(err.message).not.toContain(secret);
  });

  // YAML whose structure is wrong: written as is (there is no mapping to complete).
  const bomb = [
    "a: &a [x, x, x, x, x, x, x, x, x, x]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]",
    "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]",
  ].join("\n");
  const baseLines = stringify(base).split("\n").length - 1;
  const RAW_CASES: Array<[string, string, string, RegExp]> = [
    ["a billion-laughs alias bomb", bomb, "c[0]", /:3:\d+: invalid YAML at c\[0\]: the aliases here expand to more than 100 nodes/],
    ["tabs as indentation", "postgres:\n\tport: 23001\n", "--config", /:2:1: invalid YAML: a tab is used for indentation/],
    [
      "two YAML documents in one file",
      `${stringify(base)}---\n${stringify(base)}`,
      "--config",
      new RegExp(`:${baseLines + 1}:1: invalid YAML: the file holds more than one YAML document`),
    ],
    ["a root that is a list", "- postgres\n- redis\n", "<root>", /:1: the config must be a mapping of keys .*, not a list$/],
    ["a root that is a scalar", "dify-local\n", "<root>", /:1: the config must be a mapping of keys .*, not a string$/],
  ];
  it.each(RAW_CASES)("config file: %s", async (label, text, key, message) => {
    const file = join(dir, `${label.replace(/\W+/g, "-")}.yaml`);
    await writeFile(file, text);
    const err = await refused((sink) => up({ configFile: file, sink }));
    expect(err.key).toBe(key);
    expect(err.message.startsWith(file)).toBe(true);
    expect(err.message).toMatch(message);
  });

  // Paths that are not small regular UTF-8 files. The base config rides along as overrides, so even
  // a file wrongly read as empty would use this test's names.
  const FILE_CASES: Array<[string, () => Promise<string>, (path: string) => string]> = [
    [
      "a FIFO (an ordinary open would wait for a writer forever)",
      async () => {
        const fifo = join(dir, "config.fifo");
        execFileSync("mkfifo", [fifo]);
        return fifo;
      },
      (p) => `${p} is a FIFO (named pipe), not a regular file`,
    ],
    ["/dev/zero (an unbounded read would take all memory)", async () => "/dev/zero", (p) => `${p} is a character device`],
    [
      "a symlink to /dev/zero",
      async () => {
        const link = join(dir, "zero.yaml");
        await symlink("/dev/zero", link);
        return link;
      },
      (p) => `${p} is a character device`,
    ],
    ["a directory", async () => dir, (p) => `${p} is a directory, not a config file`],
    [
      "a file over 1 MiB (valid YAML: comments)",
      async () => {
        const big = join(dir, "big.yaml");
        await writeFile(big, BIG);
        return big;
      },
      (p) => `${p} is too large for a config file (${Buffer.byteLength(BIG)} bytes; at most 1048576 bytes are read)`,
    ],
    [
      "a 50 GiB sparse file",
      async () => {
        const sparse = join(dir, "sparse.yaml");
        await writeFile(sparse, "");
        await truncate(sparse, 50 * 1024 ** 3);
        return sparse;
      },
      (p) => `${p} is too large for a config file (53687091200 bytes`,
    ],
    [
      "invalid UTF-8 (a Latin-1 é)",
      async () => {
        const latin1 = join(dir, "latin1.yaml");
        await writeFile(
          latin1,
          Buffer.concat([Buffer.from("bind: 127.0.0.1\nredis:\n  password: caf"), Buffer.from([0xe9]), Buffer.from("\n")]),
        );
        return latin1;
      },
      (p) => `${p}:3:16: not valid UTF-8 (byte offset 38); save the file as UTF-8`,
    ],
    [
      "a UTF-16 file",
      async () => {
        const utf16 = join(dir, "utf16.yaml");
        await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("bind: 127.0.0.1\n", "utf16le")]));
        return utf16;
      },
      (p) => `${p}:1:1: not valid UTF-8 (byte offset 0)`,
    ],
    ["a file that does not exist", async () => join(dir, "missing.yaml"), (p) => `cannot read config file ${p}: no such file`],
    [
      "a path through a file",
      async () => {
        await writeFile(join(dir, "plain"), "");
        return join(dir, "plain", "dify-local.yaml");
      },
      (p) => `cannot read config file ${p}: a part of the path is not a directory`,
    ],
    ["an empty file name", async () => "", () => "--config was given an empty file name"],
  ];
  it.each(FILE_CASES)("--config: %s", async (_label, make, message) => {
    const path = await make();
    const err = await refused((sink) => up({ configFile: path, config: base, cwd: dir, sink }));
    expect(err.key).toBe("--config");
    expect(err.message).toContain(message(path));
  });

  // Objects through the library (no file: the key path, no line).
  const OBJECT_CASES: Array<[string, ConfigInput, string, string?]> = [
    ["a Redis password that is an option", { redis: { password: "--requirepass" } }, "redis.password", "--requirepass"],
    ["a port as a string", { postgres: { port: "55432" } } as unknown as ConfigInput, "postgres.port"],
    ["a gRPC port above 65535", { qdrant: { grpcPort: 65536 } }, "qdrant.grpcPort"],
    ["too many workers", { cluster: { workers: 11 } }, "cluster.workers"],
    ["a timeout that is NaN", { readyTimeout: Number.NaN }, "readyTimeout"],
    ["a user that is not an SQL identifier", { postgres: { user: "bob'); DROP" } }, "postgres.user"],
    ["an image with upper case in its path", { qdrant: { image: "qdrant/Qdrant:v1" } }, "qdrant.image"],
    ["a restart policy docker does not have", { redis: { restart: "sometimes" } } as unknown as ConfigInput, "redis.restart"],
  ];
  it.each(OBJECT_CASES)("config object: %s", async (_label, over, key, secret) => {
    const config = { ...base, ...Object.fromEntries(Object.entries(over).map(([k, v]) => [k, mergeSection(k, v)])) };
    const err = await refused((sink) => up({ config, sink }));
    expect(err.key).toBe(key);
    expect(err.message).toContain(`\n  ${key}: `);
    if (secret) expect(err.message).not.toContain(secret);
  });

  it("config object: a root that is a list", async () => {
    const err = await refused((sink) => up({ config: [] as unknown as ConfigInput, sink }));
    expect(err.key).toBe("<root>");
    expect(err.message).toContain("<root>: expected object, got array");
  });

  // Flags, through the library options they map to.
  const FLAG_CASES: Array<[string, (sink: RecordingSink) => Promise<unknown>, string, string]> = [
    [
      "--pull sometimes",
      (sink) => up({ config: base, pull: "sometimes" as "always", sink }),
      "--pull",
      '--pull must be missing or always (got "sometimes")',
    ],
    [
      "--chart 4.0",
      (sink) => values({ config: base, chart: "4.0", secretsDir: dir, sink }),
      "--chart",
      '--chart must be 3.7 or 3.9 (got "4.0")',
    ],
    [
      "--format xml",
      (sink) => values({ config: base, format: "xml", secretsDir: dir, sink }),
      "--format",
      '--format must be yaml or env (got "xml")',
    ],
    [
      "--merge with --format env",
      (sink) => values({ config: base, merge: "values.yaml", format: "env", secretsDir: dir, sink }),
      "--merge",
      "--merge updates a Helm values.yaml and cannot take --format env",
    ],
    [
      "--merge /dev/zero",
      (sink) => values({ config: base, merge: "/dev/zero", secretsDir: dir, sink }),
      "--merge",
      "/dev/zero is a character device, not a regular file",
    ],
    [
      "doctor --values on a FIFO",
      async (sink) => {
        const fifo = join(dir, "values.fifo");
        execFileSync("mkfifo", [fifo]);
        return doctor({ config: base, valuesFile: fifo, sink });
      },
      "--values",
      "values.fifo is a FIFO (named pipe), not a regular file",
    ],
  ];
  it.each(FLAG_CASES)("flag: %s", async (_label, run, key, message) => {
    const err = await refused(run);
    expect(err.key).toBe(key);
    expect(err.message).toContain(message);
  });

  it("values() refused before generating chart secrets", () => {
    expect(existsSync(join(dir, "secrets.json"))).toBe(false);
  });

  it("after the whole table the engine holds exactly what it held before", async () => {
    expect(cases).toBeGreaterThanOrEqual(40);
    expect(await engineState()).toEqual(before);
  });
});

function mergeSection(key: string, value: unknown): unknown {
  const below = (base as Record<string, unknown>)[key];
  return typeof below === "object" && below !== null && typeof value === "object" && value !== null ? { ...below, ...value } : value;
}
