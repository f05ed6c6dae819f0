import { isIP, isIPv4 } from "node:net";
import { z } from "zod";
import { imageReferenceProblem } from "./reference.js";

/**
 * The validators configuration sections are built from. Each says what is wrong with a value in
 * words and never repeats a credential's value. Every section is strict: an unknown key
 * is an error naming its path, never silently ignored.
 */

export const port = z
  .number({ invalid_type_error: "must be a port number" })
  .int("must be a whole number")
  .min(1, "must be between 1 and 65535")
  .max(65535, "must be between 1 and 65535");

/** Docker's own rule for container and volume names. */
export const dockerName = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a Docker name: letters, digits, _ . - (not starting with a symbol)");

/** An image reference in Docker's own grammar (see `reference.ts`): what the engine would accept. */
export const image = z.string({ invalid_type_error: "must be an image reference" }).superRefine((value, ctx) => {
  const problem = imageReferenceProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, fatal: true });
});

// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a credential cannot be used, or undefined. Never says what the value is: messages name the
 * key only, so a password never ends up in a terminal or a CI log.
 */
export function credentialProblem(value: string): string | undefined {
  if (value === "") return "must not be empty";
  // A control character cannot survive the trip: NUL ends a C string (environment, argv), a newline
  // splits the .env file and the Helm values.
  if (CONTROL.test(value)) return "must not contain a newline, NUL or other control character";
  // redis-server reads an argument starting with -- as its next option (a lone "-" as stdin).
  if (value.startsWith("-")) return 'must not start with "-": a server given it on its command line would read it as an option';
  return undefined;
}

/** A credential's value (a user name, a password, a key): non-empty, no control characters, no leading "-". */
export const credential = z.string({ invalid_type_error: "must be a string" }).superRefine((value, ctx) => {
  const problem = credentialProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, fatal: true });
});

/** The description that marks a config field as a secret: masked wherever dify-local prints (see {@link secretFieldValues}). */
export const SECRET_FIELD = "dify-local:secret";

/** Marks a field's schema as a secret; {@link secret} is one already. */
export function asSecret<T extends z.ZodTypeAny>(schema: T): T {
  return schema.describe(SECRET_FIELD);
}

/** A password or key: a {@link credential}, masked in every event, message and line printed. */
export const secret = asSecret(credential);

/**
 * The values of the secret fields (made with {@link secret} or {@link asSecret}) in `value`, read
 * through `schema`'s objects, defaults, optionals and refinements.
 */
export function secretFieldValues(schema: z.ZodTypeAny, value: unknown): string[] {
  if (schema.description === SECRET_FIELD) return typeof value === "string" ? [value] : [];
  const def = schema._def as { innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny };
  if (schema instanceof z.ZodObject) {
    if (value === null || typeof value !== "object") return [];
    const shape = schema.shape as Record<string, z.ZodTypeAny>;
    return Object.entries(shape).flatMap(([key, field]) => secretFieldValues(field, (value as Record<string, unknown>)[key]));
  }
  // ZodDefault, ZodOptional and ZodNullable keep the inner schema as innerType; ZodEffects as schema.
  const inner = def.innerType ?? def.schema;
  return inner ? secretFieldValues(inner, value) : [];
}

export const restart = z.enum(["no", "always", "unless-stopped", "on-failure"]);

export const identifier = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case SQL identifier (letters, digits, _)")
  .max(63, "must be at most 63 characters");

/** Why `name` breaks S3's bucket naming rules (as AWS and MinIO apply them), or undefined. */
export function bucketProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long (S3's rule)";
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return "must be lower-case letters, digits, . and -, starting and ending with a letter or digit (S3's rule)";
  }
  if (/\.\.|\.-|-\./.test(name)) return 'must not contain "..", ".-" or "-." (S3\'s rule: each part between dots is a DNS label)';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "must not be formatted as an IP address (S3's rule)";
  const prefix = BUCKET_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `must not start with "${prefix}" (reserved by S3)`;
  const suffix = BUCKET_SUFFIXES.find((p) => name.endsWith(p));
  if (suffix) return `must not end with "${suffix}" (reserved by S3)`;
  return undefined;
}

const BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

export const bucket = z.string({ invalid_type_error: "must be a string" }).superRefine((value, ctx) => {
  const problem = bucketProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, fatal: true });
});

/** An S3 region name, as MinIO accepts it (`^[a-zA-Z][a-zA-Z0-9-_-]+$`): us-east-1. */
export const region = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]+$/, "must be a region name such as us-east-1: letters, digits, - and _, starting with a letter");

export const ipv4 = z
  .string({ invalid_type_error: "must be a string" })
  .refine((v) => isIPv4(v), "must be an IPv4 address such as 127.0.0.1 or 0.0.0.0");

/** What every container service's section has, whatever else it adds. */
export interface ServiceSettings {
  enabled: boolean;
  container: string;
  image: string;
  volume: string;
  restart: z.infer<typeof restart>;
  /** Set when the service already runs elsewhere (see {@link withExternal}): no container is made for it. */
  external?: unknown;
}

/** The seed's names for one service: its container, image, data volume and restart policy. */
export interface ServiceDefaults {
  container: string;
  image: string;
  volume: string;
  restart: z.infer<typeof restart>;
}

/** A service's config section: the common keys with the seed's defaults, plus the service's own. */
export function serviceSchema<T extends z.ZodRawShape>(shape: T, defaults: ServiceDefaults) {
  return z
    .object({
      enabled: z.boolean().default(true),
      container: dockerName.default(defaults.container),
      image: image.default(defaults.image),
      volume: dockerName.default(defaults.volume),
      restart: restart.default(defaults.restart),
      ...shape,
    })
    .strict();
}

/**
 * A host name or IP address to connect to (`db.internal`, `10.0.0.5`, `::1`): no scheme, no port,
 * no path; those have their own keys.
 */
export const hostname = z
  .string({ invalid_type_error: "must be a host name or IP address" })
  .min(1, "must be a host name or IP address")
  .max(253, "must be at most 253 characters")
  .refine(
    (v) => isIP(v) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(v),
    "must be a host name or IP address, without a scheme, port or path",
  );

/** A file on this machine (a CA certificate); read when it is used, so a missing file is named then. */
export const filePath = z.string({ invalid_type_error: "must be a file path" }).min(1, "must be a file path");

/**
 * A service section that may say `external: {...}` instead of describing a container. The keys in
 * `replaces` (the section's own port, user, password...) describe how to reach the container; the
 * external section carries its own, so one written beside `external` is refused naming it rather
 * than silently ignored (which of the two was meant?). The container-only keys (container, image,
 * volume, restart) stay allowed and unused, so going back to a container is removing one key.
 */
export function withExternal<T extends z.ZodRawShape, X extends z.ZodTypeAny>(
  section: z.ZodObject<T, "strict">,
  external: X,
  replaces: ReadonlyArray<keyof T & string>,
) {
  const extended = section.extend({ external: external.optional() });
  // Typed with the section's input (what a caller writes), not preprocess's `unknown`.
  type Section = z.ZodEffects<typeof extended, z.output<typeof extended>, z.input<typeof extended>>;
  return z.preprocess((raw, ctx) => {
    if (raw === null || typeof raw !== "object" || (raw as Record<string, unknown>).external === undefined) return raw;
    for (const key of replaces) {
      if ((raw as Record<string, unknown>)[key] === undefined) continue;
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [key],
        message: `describes the local container; with external set, write it inside external (or remove it)`,
      });
    }
    return raw;
  }, extended) as unknown as Section;
}
