import { readInputFile, utf8Text } from "../util/index.js";

/** The largest config file read: a real one is a few hundred bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * A config file as UTF-8 text, or undefined when it does not exist and `mustExist` is false. Only a
 * regular file of at most {@link MAX_CONFIG_BYTES} is read (see `readInputFile`); invalid UTF-8 is
 * refused with its line, column and byte offset.
 */
export async function readConfigFile(path: string, mustExist: boolean): Promise<string | undefined> {
  const bytes = await readInputFile(
    path,
    {
      what: "config file",
      key: "--config",
      maxBytes: MAX_CONFIG_BYTES,
      tooBigHint: "point --config at dify-local.yaml, a file of a few hundred bytes",
    },
    !mustExist,
  );
  return bytes === undefined ? undefined : utf8Text(bytes, path, "--config");
}
