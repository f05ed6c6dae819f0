import { isIPv4 } from "node:net";
import { z } from "zod";

/**
 * The validators configuration sections are built from. Every section is strict: an unknown key
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

export const image = z
  .string({ invalid_type_error: "must be an image reference" })
  .min(1, "must not be empty")
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, "must be an image reference like redis:7 or host:5000/name:tag");

/** The description that marks a config field as a secret: masked wherever dify-local prints (see {@link secretFieldValues}). */
export const SECRET_FIELD = "dify-local:secret";

/** Marks a field's schema as a secret; {@link secret} is one already. */
export function asSecret<T extends z.ZodTypeAny>(schema: T): T {
  return schema.describe(SECRET_FIELD);
}

/** A password or key: masked in every event, message and line printed. */
export const secret = asSecret(z.string({ invalid_type_error: "must be a string" }).min(1, "must not be empty"));

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

export const bucket = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3-63 lower-case letters, digits, . or -");

export const ipv4 = z.string().refine((v) => isIPv4(v), "must be an IPv4 address such as 127.0.0.1 or 0.0.0.0");

/** What every container service's section has, whatever else it adds. */
export interface ServiceSettings {
  enabled: boolean;
  container: string;
  image: string;
  volume: string;
  restart: z.infer<typeof restart>;
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
