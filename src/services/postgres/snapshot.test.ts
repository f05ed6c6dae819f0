import { describe, expect, it } from "vitest";
import { postgres } from "./index.js";
import { EXTERNAL_RESTORE_FLAGS, isLoopback, parseCopy, restoreHelper } from "./snapshot.js";

describe("a table read out of a dump", () => {
  it("parses pg_restore's COPY block: columns by name, NULL, and COPY's backslash escapes", () => {
    const sql = [
      "SET statement_timeout = 0;",
      "COPY public.other (id) FROM stdin;",
      "x",
      "\\.",
      "COPY public.tenants (id, name, encrypt_public_key) FROM stdin;",
      "t1\tAcme\\tInc\t-----BEGIN PUBLIC KEY-----\\nAAA\\n-----END PUBLIC KEY-----\\n",
      "t2\tback\\\\slash\t\\N",
      "\\.",
      "",
    ].join("\n");
    expect(parseCopy(sql, "tenants")).toEqual([
      { id: "t1", name: "Acme\tInc", encrypt_public_key: "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n" },
      { id: "t2", name: "back\\slash", encrypt_public_key: null },
    ]);
    expect(parseCopy(sql, "missing")).toEqual([]);
  });
});

describe("pg_restore into an external server", () => {
  const settings = postgres.schema.parse({ image: "postgres:17", external: { host: "db.internal", user: "dify", password: "pw" } });
  const live = { user: "dify", password: "pw", source: "external" as const, sslmode: "verify-full" as const, ca: "/home/me/ca.pem" };

  it("runs in a helper of the configured image with libpq's environment, the CA mounted read-only, on the default network", () => {
    const h = restoreHelper({ host: "db.internal", settings: { ...settings, port: 5433, user: "dify", password: "pw" }, live }, "dify");
    expect(h.image).toBe("postgres:17");
    expect(h.cmd).toEqual(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error", "-d", "dify"]);
    expect(h.env).toEqual({
      PGHOST: "db.internal",
      PGPORT: "5433",
      PGUSER: "dify",
      PGPASSWORD: "pw",
      PGSSLMODE: "verify-full",
      PGSSLROOTCERT: "/dify-local/ca.pem",
    });
    expect(h.readOnlyFiles).toEqual([{ source: "/home/me/ca.pem", target: "/dify-local/ca.pem" }]);
    expect(h.network).toBe("bridge");
    expect(h.purpose).toBe("pg-restore");
    expect(h.name).toMatch(/^dify-local-pg-restore-[0-9a-f]{8}$/);
  });

  it("uses the engine's host network for a server on this machine's loopback, and mounts nothing without a CA", () => {
    const h = restoreHelper(
      { host: "127.0.0.1", settings, live: { user: "dify", password: "pw", source: "external", sslmode: "require" } },
      "audit",
    );
    expect(h.network).toBe("host");
    expect(h.env?.PGSSLMODE).toBe("require");
    expect(h.env).not.toHaveProperty("PGSSLROOTCERT");
    expect(h.readOnlyFiles).toEqual([]);
  });

  it("never drops a database: no --create, and --clean only with --if-exists", () => {
    expect(EXTERNAL_RESTORE_FLAGS).not.toContain("--create");
    expect(EXTERNAL_RESTORE_FLAGS).toEqual(expect.arrayContaining(["--clean", "--if-exists", "--no-owner"]));
  });

  it("knows loopback hosts", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "db.localhost"]) expect(isLoopback(h), h).toBe(true);
    for (const h of ["10.0.0.5", "db.internal", "128.0.0.1", "localhost.example.com", "::2"]) expect(isLoopback(h), h).toBe(false);
  });

  it("says in the plan which databases' objects are replaced and that none is dropped", () => {
    const text = postgres.snapshot?.replaces({ bind: "127.0.0.1", readyTimeout: 30, postgres: settings }) ?? "";
    expect(text).toContain("in databases dify, plugin_daemon, enterprise, audit at db.internal:5432 (external)");
    expect(text).toContain("no database is dropped");
  });
});
