/** A named verification with its outcome; `verify`, `up` and the cluster speak this shape. */
export interface Check {
  id: string;
  ok: boolean;
  /** What was checked, in words ("PostgreSQL accepts the password"). */
  what: string;
  /** What was seen, when it helps (especially on failure). */
  detail?: string;
  /** One line: how to fix it. Present on failures. */
  fix?: string;
  /** Why a failure matters, when that is not obvious (the doctor shows it). */
  why?: string;
}

/** How bad a finding is; only `error` makes `doctor` exit 1. */
export type Severity = "error" | "warning" | "info" | "ok";

/** One diagnosis: what is wrong (or fine), why it matters, and the exact command that fixes it. */
export interface Finding {
  id: string;
  severity: Severity;
  what: string;
  why?: string;
  fix?: string;
}

/** Runs a check body, turning a throw into a failed check with the fix; a string it returns is the detail. */
export async function check(id: string, what: string, fix: string, body: () => Promise<string | void> | string | void): Promise<Check> {
  try {
    const detail = await body();
    return { id, ok: true, what, ...(detail ? { detail } : {}) };
  } catch (err) {
    return { id, ok: false, what, detail: err instanceof Error ? err.message : String(err), fix };
  }
}

/**
 * {@link check}, unless `proven` names a step of this command that has just made the same call with
 * the same credentials (`up`'s readiness probe, its init): then passed, saying which step showed
 * it, without asking the service again ("verify only what up did not just prove").
 */
export function checkUnlessProven(
  proven: ReadonlyMap<string, string> | undefined,
  id: string,
  what: string,
  fix: string,
  body: () => Promise<string | void> | string | void,
): Promise<Check> {
  const by = proven?.get(id);
  return by ? Promise.resolve({ id, ok: true, what, detail: `shown by ${by}` }) : check(id, what, fix, body);
}

/** A failed check as the doctor reports it (an error); a passed one as ok. */
export function checkToFinding(c: Check): Finding {
  return {
    id: c.id,
    severity: c.ok ? "ok" : "error",
    what: c.ok ? c.what : `${c.what}: ${c.detail ?? "failed"}`,
    ...(c.why && !c.ok ? { why: c.why } : {}),
    ...(c.fix ? { fix: c.fix } : {}),
  };
}
