import { describe, expect, it } from "vitest";
import { UserError } from "../errors.js";
import { parseConfigText } from "./load.js";
import { interpolateEnv } from "./interpolate.js";

const env = { PG_PASS: "from-env", EMPTY: "", PORT: "56000" };

describe("${NAME} in config values", () => {
  it("reads the environment in every string value, nested and in lists, never in keys", () => {
    expect(interpolateEnv({ a: "${PG_PASS}", b: ["x-${PG_PASS}-y", 3], "${PG_PASS}": true, c: { d: "${EMPTY}" } }, env)).toEqual({
      a: "from-env",
      b: ["x-from-env-y", 3],
      "${PG_PASS}": true,
      c: { d: "" },
    });
  });

  it("keeps $${ as a literal ${ and a lone $ as is", () => {
    expect(interpolateEnv({ a: "p$$${x}", b: "$$${PG_PASS}", c: "a$b" }, env)).toEqual({ a: "p$${x}", b: "$${PG_PASS}", c: "a$b" });
  });

  it("an unset variable is a UserError with file:line and the key; nothing else is read", () => {
    const text = "postgres:\n  port: 55432\n  password: ${DIFY_PG_PASSWORD}\n";
    const err = (() => {
      try {
        parseConfigText(text, "dify-local.yaml", undefined, undefined, undefined, env);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ key: "postgres.password" });
    expect((err as Error).message).toBe("dify-local.yaml:3: postgres.password: the environment variable DIFY_PG_PASSWORD is not set");
  });

  it("a reference that is no variable name is refused, naming the key", () => {
    expect(() => parseConfigText("redis:\n  password: ${not a name}\n", "f.yaml", undefined, undefined, undefined, env)).toThrow(
      /f\.yaml:2: redis\.password: "\$\{not a name\}" is not an environment variable reference/,
    );
  });

  it("the interpolated value is validated like a written one", () => {
    const c = parseConfigText("postgres:\n  password: ${PG_PASS}\n", "f.yaml", undefined, undefined, undefined, env);
    expect(c.postgres.password).toBe("from-env");
    // A port from the environment is a string, and the schema says what it wants.
    expect(() => parseConfigText("postgres:\n  port: ${PORT}\n", "f.yaml", undefined, undefined, undefined, env)).toThrow(
      /f\.yaml:2: postgres\.port: expected number, got string/,
    );
  });
});
