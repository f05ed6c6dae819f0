import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyPairFindings, keysMatch, privateKeyObject } from "./keypairs.js";

function pair(type: "pkcs1" | "pkcs8" = "pkcs1"): { publicKey: string; privateKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 1024,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type, format: "pem" },
  });
}

describe("the key-pair check", () => {
  it("a private key matches its own public key (PKCS#1 as Dify writes it, or PKCS#8), not another's", () => {
    const a = pair();
    const b = pair("pkcs8");
    expect(keysMatch(a.privateKey, a.publicKey)).toBe("ok");
    expect(keysMatch(b.privateKey, b.publicKey)).toBe("ok");
    expect(keysMatch(b.privateKey, a.publicKey)).toBe("mismatch");
    expect(keysMatch("not a key", a.publicKey)).toBe("unreadable");
    expect(keysMatch(a.privateKey, "not a key")).toBe("mismatch");
  });

  it("names each tenant whose private key is missing or does not match, with the fix and its cost", () => {
    const findings = keyPairFindings({
      checked: true,
      bucket: "dify",
      tenants: [
        { tenant: "t1", state: "ok" },
        { tenant: "t2", state: "missing" },
        { tenant: "t3", state: "mismatch" },
      ],
    });
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ["keypairs.t2", "error"],
      ["keypairs.t3", "error"],
    ]);
    expect(findings[0]?.what).toBe(`tenant t2: its private key ${privateKeyObject("t2")} is missing from bucket dify`);
    expect(findings[1]?.what).toMatch(/does not match its public key in dify.tenants/);
    expect(findings[0]?.fix).toMatch(/flask reset-encrypt-key-pair .*deletes every credential/);
  });

  it("all matching is one ok; nothing to check is ok with the reason; a store that fails is a warning", () => {
    expect(keyPairFindings({ checked: true, bucket: "dify", tenants: [{ tenant: "t1", state: "ok" }] })).toEqual([
      { id: "keypairs", severity: "ok", what: "the private keys of 1 tenants are in bucket dify and match their public keys" },
    ]);
    expect(keyPairFindings({ checked: false, reason: "no dify.tenants", error: false })[0]).toMatchObject({ severity: "ok" });
    expect(keyPairFindings({ checked: false, reason: "ECONNREFUSED", error: true })[0]).toMatchObject({
      severity: "warning",
      why: "ECONNREFUSED",
    });
  });
});
