import { homedir } from "node:os";
import { join } from "node:path";

/**
 * dify-local's cache directory (downloads it can fetch again): `DIFY_LOCAL_CACHE_DIR`, else
 * `~/Library/Caches/dify-local` on macOS, else `$XDG_CACHE_HOME/dify-local`, else
 * `~/.cache/dify-local`.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.DIFY_LOCAL_CACHE_DIR) return env.DIFY_LOCAL_CACHE_DIR;
  const home = env.HOME || homedir();
  if (platform === "darwin") return join(home, "Library", "Caches", "dify-local");
  return join(env.XDG_CACHE_HOME || join(home, ".cache"), "dify-local");
}
