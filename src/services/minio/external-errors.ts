import { OperationError, messageOf } from "../../errors.js";

/**
 * Why a round trip to an external endpoint failed, in the classes a user acts on differently:
 * the credentials (`auth`), the network path (`unreachable`), the name (`dns`), the TLS setting
 * or certificate (`tls`), the bucket's region (`region`), no IAM credentials on this machine
 * (`no-credentials`), or anything else (`other`).
 */
export type ExternalFailure = "auth" | "unreachable" | "dns" | "tls" | "region" | "no-credentials" | "other";

/** A failed round trip to an external service: the message names the service and endpoint; `kind` classifies it. */
export class ExternalProbeError extends OperationError {
  readonly kind: ExternalFailure;
  constructor(kind: ExternalFailure, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.kind = kind;
  }
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "UND_ERR_CONNECT_TIMEOUT"]);
const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"]);
/** Node's certificate verification codes (from OpenSSL) and its own TLS errors. */
const TLS = /^(ERR_TLS_|ERR_SSL_|EPROTO$|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(GET|VERIFY)_)/;

/** The error code of `err` or of its causes (fetch wraps the socket's error as `cause`). */
export function errorCode(err: unknown): string | undefined {
  for (let cur: unknown = err, depth = 0; cur && typeof cur === "object" && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The network class of a socket-level error, or undefined when it is no network error (an answer from the server). */
export function networkFailure(err: unknown): "unreachable" | "dns" | "tls" | undefined {
  const code = errorCode(err);
  if (code === undefined) return /no answer within/.test(messageOf(err)) ? "unreachable" : undefined;
  if (DNS.has(code)) return "dns";
  if (UNREACHABLE.has(code)) return "unreachable";
  if (TLS.test(code)) return "tls";
  return undefined;
}

/** One line saying what a network failure means, naming `where` (host:port or URL). */
export function networkMessage(kind: "unreachable" | "dns" | "tls", where: string, err: unknown): { message: string; hint: string } {
  const detail = messageOf(err);
  switch (kind) {
    case "dns":
      return {
        message: `${where}: the name does not resolve (${detail})`,
        hint: "check the host name for typos, and that this machine's DNS can see it (a private zone needs a VPN or a machine inside the network)",
      };
    case "unreachable":
      return {
        message: `${where} is unreachable (${detail})`,
        hint: "check the host and port, that the service runs, and that a firewall or security group lets this machine in",
      };
    case "tls":
      return {
        message: `${where}: the TLS handshake failed (${detail})`,
        hint: "an https:// endpoint needs a server speaking TLS with a certificate this machine trusts (NODE_EXTRA_CA_CERTS=ca.pem for a private CA); a server speaking plain HTTP needs http://",
      };
  }
}
