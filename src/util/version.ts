import { readFile } from "node:fs/promises";

let version: Promise<string> | undefined;

/** dify-local's own version, from its package.json (two folders up from src/util and dist/util alike). */
export function packageVersion(): Promise<string> {
  version ??= readFile(new URL("../../package.json", import.meta.url), "utf8")
    .then((text) => {
      const v = (JSON.parse(text) as { version?: unknown }).version;
      return typeof v === "string" ? v : "unknown";
    })
    .catch(() => "unknown");
  return version;
}
