/** What a secret is replaced with wherever dify-local prints. */
export const MASK = "********";

/** Secrets shorter than this are masked only as whole tokens: masking every "ab" would garble the output. */
const SHORT = 4;

/** How deep {@link Redactor.redactError} follows an error's `cause`. */
const MAX_CAUSES = 5;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The one redaction point: every secret dify-local knows of in a command (the configured ones,
 * the ones the running containers have, the generated chart secrets) is added here, and every
 * event, error, log tail and line printed passes through {@link Redactor.redact}. A secret is
 * masked as written, URL-encoded and JSON-escaped. A command's redactor only learns: secrets
 * are never removed, so text printed after a container was recreated is masked for both the
 * old and the new password.
 */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null | undefined;

  /** Adds secrets to mask; empty or missing values are ignored. Returns this. */
  add(...values: ReadonlyArray<string | undefined>): this {
    for (const value of values) {
      if (value === undefined || value === "") continue;
      for (const form of [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) {
        if (!this.secrets.has(form)) {
          this.secrets.add(form);
          this.pattern = undefined;
        }
      }
    }
    return this;
  }

  /** How many distinct forms are masked (for tests). */
  get size(): number {
    return this.secrets.size;
  }

  /** `text` with every known secret replaced by {@link MASK}. */
  redact(text: string): string {
    const pattern = this.compiled();
    return pattern ? text.replace(pattern, MASK) : text;
  }

  /** A copy of a JSON-like value with every string redacted (plain objects and arrays, deeply). */
  redactValue<T>(value: T): T {
    return this.deep(value, 0) as T;
  }

  /**
   * Masks an error in place (its message, stack trace, every string or list-of-strings property
   * such as a hint or a subprocess's output, and its causes) and returns it; anything else thrown
   * becomes a redacted string.
   */
  redactError(err: unknown, depth = 0): unknown {
    if (!(err instanceof Error)) return typeof err === "string" ? this.redact(err) : err;
    const stack = err.stack;
    const record = err as unknown as Record<string, unknown>;
    for (const key of Object.keys(err)) {
      const v = record[key];
      if (typeof v === "string") record[key] = this.redact(v);
      else if (Array.isArray(v) && v.every((x) => typeof x === "string")) record[key] = v.map((x: string) => this.redact(x));
    }
    err.message = this.redact(err.message);
    if (stack !== undefined) err.stack = this.redact(stack);
    if (err.cause !== undefined && depth < MAX_CAUSES) this.redactError(err.cause, depth + 1);
    return err;
  }

  private deep(value: unknown, depth: number): unknown {
    if (typeof value === "string") return this.redact(value);
    if (depth > 64 || value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map((v) => this.deep(v, depth + 1));
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v, depth + 1)]));
  }

  private compiled(): RegExp | null {
    if (this.pattern !== undefined) return this.pattern;
    // Longest first, so a secret that contains another is masked whole.
    const sorted = [...this.secrets].sort((a, b) => b.length - a.length);
    const parts = sorted.map((s) => (s.length < SHORT ? `(?<![A-Za-z0-9])${escapeRegExp(s)}(?![A-Za-z0-9])` : escapeRegExp(s)));
    this.pattern = parts.length === 0 ? null : new RegExp(parts.join("|"), "g");
    return this.pattern;
  }
}
