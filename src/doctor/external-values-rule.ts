import { isAwsHost, parseEcrPrefix } from "../services/index.js";
import { isPlainObject } from "../util/index.js";
import type { Rule } from "./rules.js";
import type { Finding } from "./types.js";

/**
 * `doctor --values` rules for values.yaml files written for managed services (AWS S3, ECR): the
 * traps of langgenius/dify-ee-terraform-aws. They read the file alone, not the live stack, so they
 * hold whichever services dify-local runs. Pure.
 */

function at(data: unknown, ...path: string[]): unknown {
  let cur = data;
  for (const key of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** The host of an endpoint as people write it (with or without a scheme), or undefined. */
function hostOf(endpoint: string): string | undefined {
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`).hostname;
  } catch {
    return undefined;
  }
}

const WHY_405 =
  "the chart hands persistence.s3.endpoint to the plugin builder (kaniko) as S3_ENDPOINT, which it takes as the endpoint for all of AWS: " +
  "its IAM login (AssumeRoleWithWebIdentity) then goes to S3 and gets HTTP 405, and every plugin build fails";

/**
 * An S3 endpoint set for AWS S3: an amazonaws.com host, or `useAwsS3: true` with any endpoint.
 * The fix empties the endpoint (the SDK finds it from `region`); for a `useAwsS3: true` with a
 * non-AWS endpoint the other way out is `useAwsS3: false`.
 */
export function s3EndpointFindings(data: unknown, file: string): Finding[] {
  const endpoint = at(data, "persistence", "s3", "endpoint");
  if (typeof endpoint !== "string" || endpoint.trim() === "") return [];
  const useAwsS3 = at(data, "persistence", "s3", "useAwsS3");
  const host = hostOf(endpoint.trim());
  const aws = host !== undefined && isAwsHost(host);
  if (!aws && useAwsS3 !== true) return [];
  const region = at(data, "persistence", "s3", "region");
  const regionNote =
    typeof region === "string" && region ? ` (region ${region} says where)` : "; set persistence.s3.region to the bucket's region";
  return [
    {
      id: "values.s3-endpoint-aws",
      severity: "error",
      what: aws
        ? `persistence.s3.endpoint is ${JSON.stringify(endpoint)}, an AWS S3 endpoint`
        : `persistence.s3.useAwsS3 is true and persistence.s3.endpoint is set (${JSON.stringify(endpoint)})`,
      why: WHY_405,
      fix: aws
        ? `in ${file}: persistence.s3.endpoint: "" and persistence.s3.useAwsS3: true${regionNote}`
        : `in ${file}: for AWS S3 set persistence.s3.endpoint: ""${regionNote}; for an S3-compatible service at that endpoint set persistence.s3.useAwsS3: false`,
    },
  ];
}

/** `useAwsManagedIam: true` only has an identity to use against AWS S3. */
export function s3IamFindings(data: unknown, file: string): Finding[] {
  if (at(data, "persistence", "s3", "useAwsManagedIam") !== true || at(data, "persistence", "s3", "useAwsS3") === true) return [];
  return [
    {
      id: "values.s3-iam-not-aws",
      severity: "error",
      what: "persistence.s3.useAwsManagedIam is true but persistence.s3.useAwsS3 is not",
      why: "the pods' IAM role (IRSA) is an AWS identity: an S3-compatible service does not know it, so every storage call is refused",
      fix: `in ${file}: useAwsS3: true with an empty endpoint for AWS S3, or useAwsManagedIam: false with accessKey and secretKey`,
    },
  ];
}

function nonEmpty(value: unknown): boolean {
  return typeof value === "string" && value.trim() !== "";
}

/** The findings about a plugin_connector with `imageRepoType: ecr` (none for another type). */
export function ecrFindings(data: unknown, file: string): Finding[] {
  const pc = at(data, "plugin_connector");
  if (!isPlainObject(pc) || pc.imageRepoType !== "ecr") return [];
  const out: Finding[] = [];
  const prefix = typeof pc.imageRepoPrefix === "string" ? pc.imageRepoPrefix : "";
  const ecr = parseEcrPrefix(prefix);
  if (!ecr) {
    out.push({
      id: "values.ecr-prefix",
      severity: "error",
      what: `plugin_connector.imageRepoType is ecr but imageRepoPrefix is ${prefix ? JSON.stringify(prefix) : "not set"}`,
      why: "the plugin builder logs in to the ECR registry named by the prefix: anything else cannot be pushed to through ECR's login",
      fix: `in ${file}: plugin_connector.imageRepoPrefix: <account>.dkr.ecr.<region>.amazonaws.com/<repository prefix>`,
    });
  } else if (nonEmpty(pc.ecrRegion) && pc.ecrRegion !== ecr.region) {
    out.push({
      id: "values.ecr-region",
      severity: "error",
      what: `plugin_connector.ecrRegion is ${JSON.stringify(pc.ecrRegion)} but the registry in imageRepoPrefix is in ${ecr.region}`,
      why: "the ECR login token is asked for in ecrRegion and is only valid for that region's registry",
      fix: `in ${file}: plugin_connector.ecrRegion: ${ecr.region}`,
    });
  }
  if (pc.insecureImageRepo === true) {
    out.push({
      id: "values.ecr-insecure",
      severity: "error",
      what: "plugin_connector.insecureImageRepo is true with imageRepoType ecr",
      why: "ECR speaks HTTPS only: pushes and pulls over plain HTTP fail",
      fix: `in ${file}: plugin_connector.insecureImageRepo: false`,
    });
  }
  if (!nonEmpty(pc.customServiceAccount) && !nonEmpty(pc.runnerServiceAccount) && !nonEmpty(pc.imageRepoSecret)) {
    out.push({
      id: "values.ecr-credentials",
      severity: "warning",
      what: "plugin_connector uses ECR without IAM service accounts (customServiceAccount, runnerServiceAccount) or an imageRepoSecret",
      why:
        "the builder and the runners reach ECR through AWS IAM: without a role (IRSA) on their service accounts they fall back to the chart's default " +
        "secret image-repo-secret, which must exist and hold an ECR token (valid 12 hours), so plugin builds fail to push",
      fix: `in ${file}: set plugin_connector.customServiceAccount and runnerServiceAccount to service accounts bound to an IAM role with ECR push/pull (IRSA)`,
    });
  }
  return out;
}

/** The managed-service traps in a user's values.yaml; nothing without `--values`. */
export const externalValuesRule: Rule = (f) => {
  const v = f.values;
  if (!v || !isPlainObject(v.data)) return [];
  return [...s3EndpointFindings(v.data, v.file), ...s3IamFindings(v.data, v.file), ...ecrFindings(v.data, v.file)];
};
