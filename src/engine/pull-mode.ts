import { UserError } from "../errors.js";

/** When `up` pulls images: `missing` (default) pulls only absent images; `always` pulls every one. */
export type PullMode = "missing" | "always";

/** A pull mode from a flag or an option; anything else is bad input naming `--pull` (checked before anything else). */
export function parsePull(pull: unknown): PullMode {
  if (pull === undefined) return "missing";
  if (pull === "missing" || pull === "always") return pull;
  throw new UserError(`--pull must be missing or always (got ${JSON.stringify(pull)})`, { key: "--pull" });
}
