/** Anonymous access levels, named as `mc anonymous set` names them. */
export type AnonymousAccess = "none" | "download" | "public";

const BUCKET_ACTIONS: Record<Exclude<AnonymousAccess, "none">, string[]> = {
  download: ["s3:GetBucketLocation", "s3:ListBucket"],
  public: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
};
const OBJECT_ACTIONS: Record<Exclude<AnonymousAccess, "none">, string[]> = {
  download: ["s3:GetObject"],
  public: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
};

/** The bucket policy `mc anonymous set <access> local/<bucket>` writes; undefined for none. */
export function anonymousPolicy(bucket: string, access: AnonymousAccess): string | undefined {
  if (access === "none") return undefined;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { AWS: ["*"] }, Action: BUCKET_ACTIONS[access], Resource: [`arn:aws:s3:::${bucket}`] },
      { Effect: "Allow", Principal: { AWS: ["*"] }, Action: OBJECT_ACTIONS[access], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  });
}

/** The set of "action resource" pairs a policy grants to everyone; servers reformat JSON, so compare this. */
export function anonymousGrants(policy: string | undefined): Set<string> {
  const grants = new Set<string>();
  if (!policy) return grants;
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    return grants;
  }
  const statements = (doc as { Statement?: unknown }).Statement;
  for (const st of Array.isArray(statements) ? statements : []) {
    const s = st as { Effect?: string; Principal?: unknown; Action?: unknown; Resource?: unknown };
    if (s.Effect !== "Allow" || !isEveryone(s.Principal)) continue;
    for (const action of toList(s.Action)) for (const resource of toList(s.Resource)) grants.add(`${action} ${resource}`);
  }
  return grants;
}

/** Which named level a policy amounts to, or "custom" when it matches none. */
export function classifyPolicy(bucket: string, policy: string | undefined): AnonymousAccess | "custom" {
  const have = anonymousGrants(policy);
  for (const level of ["none", "download", "public"] as const) {
    const want = anonymousGrants(anonymousPolicy(bucket, level));
    if (want.size === have.size && [...want].every((g) => have.has(g))) return level;
  }
  return "custom";
}

function isEveryone(p: unknown): boolean {
  if (p === "*") return true;
  const aws = (p as { AWS?: unknown } | undefined)?.AWS;
  return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
}

function toList(v: unknown): string[] {
  if (typeof v === "string") return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}
