/** The stack every command opens (config, engine, sink, shared observations) and the work commands share. */
export { Stack, resolveConfig } from "./context.js";
export type { StackOptions, ResolvedConfig } from "./context.js";
export { runChecks, reportChecks } from "./verify.js";
export { renderValues, serviceValues, renderStackEnv, credentialSources, valuesWarnings } from "./values.js";
export type { LiveStack } from "./values.js";
export { learnSecrets, redacting } from "./redaction.js";
