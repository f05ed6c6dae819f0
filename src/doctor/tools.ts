import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** True when `name` is an executable somewhere on PATH. */
export async function onPath(name: string, path = process.env.PATH ?? ""): Promise<boolean> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}
