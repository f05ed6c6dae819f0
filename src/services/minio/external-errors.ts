import { OperationError } from "../../errors.js";
import type { Failure, FailureKind } from "../external.js";

/**
 * Why a round trip to an external S3 or registry failed, in the classes a user acts on
 * differently: the external core's (`auth`, `unreachable`, `dns`, `tls`..., see
 * `src/services/external.ts`, which also classifies the network's part), plus the bucket's region
 * (`region`), no IAM credentials on this machine (`no-credentials`), or anything else (`other`).
 */
export type ExternalFailure = Exclude<FailureKind, "server"> | "region" | "no-credentials" | "other";

/** A failed round trip to an external service: the message names the service and endpoint; `kind` classifies it. */
export class ExternalProbeError extends OperationError {
  readonly kind: ExternalFailure;
  constructor(kind: ExternalFailure, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.kind = kind;
  }
}

/**
 * An {@link ExternalProbeError} in the external core's terms: its class (the S3 module's own
 * `region`, `no-credentials` and `other` are the server's answer there), its message as the
 * answer, and its hint; undefined for any other error.
 */
export function probeFailure(err: unknown): Failure | undefined {
  if (!(err instanceof ExternalProbeError)) return undefined;
  const kind = err.kind === "region" || err.kind === "no-credentials" || err.kind === "other" ? "server" : err.kind;
  return { kind, answer: err.message, ...(err.hint ? { hint: err.hint } : {}) };
}
