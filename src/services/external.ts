import { OperationError, messageOf } from "../errors.js";

/**
 * External services: a service section that says `external: {...}` is a server that already
 * exists (a managed PostgreSQL, an ElastiCache Redis, a Qdrant Cloud cluster). dify-local makes no
 * container, volume or port for it; its probe, init and checks run against the external endpoint
 * with the given credentials and TLS settings, and its values come from that section.
 */

/** Where an external service is, as every command shows it. */
export interface ExternalFacts {
  host: string;
  port: number;
  /** `host:port`. */
  address: string;
  /** TLS in words: "TLS (sslmode require)", "no TLS". */
  tls: string;
}

/** What went wrong reaching an external service, as the user acts on it. */
export type FailureKind = "auth" | "tls-required" | "tls" | "unreachable" | "dns" | "server";

/** A failure classified, with the server's (or the network's) own answer. */
export interface Failure {
  kind: FailureKind;
  answer: string;
  /** What to do, when the protocol's module knows better than the class's general advice (S3's region, IAM). */
  hint?: string;
}

const WORDS: Record<FailureKind, string> = {
  auth: "authentication failed",
  "tls-required": "the server requires TLS",
  tls: "TLS handshake failed",
  unreachable: "unreachable",
  dns: "the host name does not resolve (DNS)",
  server: "the server refused",
};

const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"]);
const UNREACHABLE = new Set(["ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "UND_ERR_CONNECT_TIMEOUT"]);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;
const TLS_MESSAGE = /wrong version number|ssl routines|tls|certificate|self[- ]signed/i;

/** Every error code in `err`, its `cause` chain and an AggregateError's members (Node's connect to each address). */
export function errorCodes(err: unknown, depth = 0): string[] {
  if (err === null || typeof err !== "object" || depth > 4) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof e.code === "string" ? [e.code] : [];
  const members = Array.isArray(e.errors) ? e.errors.flatMap((m) => errorCodes(m, depth + 1)) : [];
  return [...own, ...errorCodes(e.cause, depth + 1), ...members];
}

/** The network's part of a failure (DNS, unreachable, TLS), whatever the protocol; undefined otherwise. */
export function networkFailure(err: unknown): Failure | undefined {
  const codes = errorCodes(err);
  const answer = describe(err);
  if (codes.some((c) => DNS.has(c))) return { kind: "dns", answer };
  if (codes.some((c) => UNREACHABLE.has(c))) return { kind: "unreachable", answer };
  if (codes.some((c) => TLS_CODE.test(c)) || TLS_MESSAGE.test(answer)) return { kind: "tls", answer };
  if (/timeout|timed out/i.test(answer)) return { kind: "unreachable", answer };
  return undefined;
}

/** An error's message with its cause's (fetch's "fetch failed" says nothing alone). */
function describe(err: unknown): string {
  const own = messageOf(err);
  const cause = err instanceof Error && err.cause !== undefined ? messageOf(err.cause) : "";
  return cause && !own.includes(cause) ? `${own} (${cause})` : own;
}

const HINTS: Record<FailureKind, (key: string) => string> = {
  auth: (key) => `check the user and password in ${key} (a \${NAME} reference reads them from the environment)`,
  "tls-required": (key) => `turn TLS on in ${key} (PostgreSQL: sslmode: require; Redis: tls: true)`,
  tls: (key) =>
    `check the TLS settings in ${key}: does the server speak TLS on this port, and does its certificate match the host and the given ca?`,
  unreachable: () => "check the host and port, that the server runs, and that no firewall or security group blocks this machine",
  dns: () => "check the host name (a typo, or a name only resolvable inside a VPN or the cluster)",
  server: (key) => `read the server's answer above; check ${key}`,
};

/** A failure in words (`unreachable: connect ECONNREFUSED ...`) and what to do, for the section `key` (`minio.external`). */
export function failureText(failure: Failure, key: string): { what: string; hint: string } {
  return { what: `${WORDS[failure.kind]}: ${failure.answer}`, hint: failure.hint ?? HINTS[failure.kind](key) };
}

/**
 * The error `up`, `status` and `doctor` show when an external service does not answer as it
 * should: names the service, its host:port and the server's answer, classified. An unclassified
 * error is kept as it came, with the endpoint named.
 */
export function externalFailure(
  service: { name: string; title: string },
  facts: ExternalFacts,
  failure: Failure | undefined,
  err: unknown,
): OperationError {
  const key = `${service.name}.external`;
  const text = failure ? failureText(failure, key) : undefined;
  return new OperationError(`${service.title} at ${facts.address} (external, ${facts.tls}): ${text?.what ?? describe(err)}`, {
    hint: text?.hint ?? `check ${key}; nothing was changed there`,
    cause: err,
  });
}
