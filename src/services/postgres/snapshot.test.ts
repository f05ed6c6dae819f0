import { describe, expect, it } from "vitest";
import { parseCopy } from "./snapshot.js";

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
