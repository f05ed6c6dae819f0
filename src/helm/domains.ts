/** The local domains Dify EE's ingress serves (values' ingress hosts, `dify-local hosts`). */
export const DIFY_DOMAINS = {
  console: "console.dify.local",
  app: "app.dify.local",
  api: "api.dify.local",
  files: "files.dify.local",
  enterprise: "enterprise.dify.local",
  trigger: "trigger.dify.local",
} as const;

export type DifyDomain = keyof typeof DIFY_DOMAINS;
