import type { DoctorFacts, Finding } from "./types.js";

const LOCAL_HOSTS = /^(https?:\/\/)?(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\])([:/]|$)/i;

function getPath(data: unknown, path: readonly string[]): unknown {
  let cur: unknown = data;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function show(value: unknown, secret: boolean): string {
  if (secret) return "(secret)";
  return JSON.stringify(value);
}

/** Why a wrong value at `path` matters and how to mend it, for the keys whose mistakes are known. */
function explain(dotted: string, actual: unknown, fixAll: string): { id: string; why: string; fix: string } {
  if (/^persistence\.s3\.(accessKey|secretKey)$/.test(dotted)) {
    return {
      id: "values.s3-credentials",
      why:
        "CRITICAL (the seed's note): with a wrong S3 credential Dify's api still starts (its head_bucket hides the 403), but the tenant's RSA key " +
        "privkeys/<tenant>/private.pem is never saved; every later decrypt fails with PrivkeyNotFoundError, and fixing the credential afterwards does not bring the key back",
      fix: `${fixAll}, helm upgrade, then for every workspace created meanwhile: kubectl exec deploy/<release>-api -- flask reset-encrypt-key-pair`,
    };
  }
  if (/sslmode$/i.test(dotted))
    return {
      id: `values.${dotted}`,
      why: "the local PostgreSQL speaks no TLS: sslmode require makes every connection fail",
      fix: `set ${dotted}: disable (${fixAll})`,
    };
  if (dotted === "minio.enabled")
    return {
      id: "values.minio.enabled",
      why: "the chart's built-in MinIO makes its post-install job hang; dev-minio is the storage",
      fix: `set minio.enabled: false (${fixAll})`,
    };
  if (dotted === "plugin_connector.insecureImageRepo")
    return {
      id: "values.plugin_connector.insecureImageRepo",
      why: "the local registry speaks plain HTTP: with insecureImageRepo false, plugin image pushes and pulls fail",
      fix: `set plugin_connector.insecureImageRepo: true (${fixAll})`,
    };
  if (dotted === "plugin_connector.imageRepoType" && actual === "ecr") {
    return {
      id: "values.plugin_connector.imageRepoType",
      why: "ECR needs AWS credentials and a real AWS registry; the local registry is a plain docker registry",
      fix: `set plugin_connector.imageRepoType: docker (${fixAll})`,
    };
  }
  if (typeof actual === "string" && LOCAL_HOSTS.test(actual)) {
    return {
      id: `values.${dotted}`,
      why: "pods in kind reach host services at host.docker.internal; localhost inside a pod is the pod itself",
      fix: `use host.docker.internal (${fixAll})`,
    };
  }
  return { id: `values.${dotted}`, why: "it must match the live stack", fix: fixAll };
}

function hasAwsCredentials(data: unknown): boolean {
  const pc = getPath(data, ["plugin_connector"]);
  if (!pc || typeof pc !== "object") return false;
  return Object.entries(pc as Record<string, unknown>).some(
    ([k, val]) => /aws|ecr/i.test(k) && k !== "imageRepoType" && typeof val === "string" && val.length > 0,
  );
}

/** values.yaml against the live stack, key by key, plus the mistakes the seed's troubleshooting knows. */
/**
 * `persistence.s3.addressType`: "" (the chart's default: the SDK's own choice, path-style for a
 * custom endpoint) and "path" both work with MinIO; virtual-hosted style makes the SDK address
 * `<bucket>.host.docker.internal`, which does not resolve.
 */
function addressTypeFinding(dotted: string, actual: unknown, fixAll: string): Finding | "ok" | undefined {
  if (dotted !== "persistence.s3.addressType") return undefined;
  if (actual === "" || actual === "path") return "ok";
  return {
    id: "values.persistence.s3.addressType",
    severity: "warning",
    what: `persistence.s3.addressType is ${JSON.stringify(actual)}`,
    why: "MinIO here is addressed by path: virtual-hosted style makes the SDK use <bucket>.host.docker.internal, which does not resolve",
    fix: `set persistence.s3.addressType: path, or "" (${fixAll})`,
  };
}

/** Keys the chart ignores where they are: the user meant something else. */
function misplacedKeys(data: unknown, fixAll: string): Finding[] {
  const out: Finding[] = [];
  if (getPath(data, ["pluginBuilder"]) !== undefined) {
    out.push({
      id: "values.pluginBuilder",
      severity: "error",
      what: "pluginBuilder is set",
      why: "the chart reads the plugin image registry from plugin_connector; pluginBuilder is ignored, so plugins build against the wrong registry",
      fix: `move its settings to plugin_connector (${fixAll})`,
    });
  }
  if (getPath(data, ["externalQdrant"]) !== undefined) {
    out.push({
      id: "values.externalQdrant",
      severity: "error",
      what: "externalQdrant is a top-level key",
      why: "the chart reads Qdrant from vectorDB.externalQdrant; a top-level externalQdrant block is silently ignored, so Dify uses the chart's default vector store",
      fix: `move the block under vectorDB (vectorDB.externalQdrant) with vectorDB.useExternal: true and vectorDB.externalType: qdrant (${fixAll})`,
    });
  }
  return out;
}

export function valuesRule(f: DoctorFacts): Finding[] {
  const v = f.values;
  if (!v) return [];
  const fixAll = `dify-local values --merge ${v.file}`;
  if (v.data === null || typeof v.data !== "object") {
    return [
      { id: "values.file", severity: "error", what: `${v.file} is not a mapping of Helm values`, fix: `dify-local values -o ${v.file}` },
    ];
  }
  const out: Finding[] = [];
  for (const e of v.expected) {
    const dotted = e.path.join(".");
    const actual = getPath(v.data, e.path);
    if (actual === undefined) {
      out.push({
        id: `values.${dotted}`,
        severity: "warning",
        what: `${dotted} is not set (the live value is ${show(e.value, e.secret)})`,
        why: "the chart's default does not point at the local stack",
        fix: fixAll,
      });
      continue;
    }
    // A quoted "6379" for a port is the same value to Helm's templates.
    if (actual === e.value || (isScalar(actual) && isScalar(e.value) && String(actual) === String(e.value))) continue;
    const addressType = addressTypeFinding(dotted, actual, fixAll);
    if (addressType === "ok") continue;
    if (addressType) {
      out.push(addressType);
      continue;
    }
    const ex = explain(dotted, actual, fixAll);
    // ECR with AWS credentials in the file is a deliberate choice, not a slip: say it, softly.
    const deliberate = dotted === "plugin_connector.imageRepoType" && actual === "ecr" && hasAwsCredentials(v.data);
    out.push({
      id: ex.id,
      severity: deliberate ? "warning" : "error",
      what: `${dotted} is ${show(actual, e.secret)}, the live stack has ${show(e.value, e.secret)}`,
      why: ex.why,
      fix: ex.fix,
    });
  }
  out.push(...misplacedKeys(v.data, fixAll));
  if (out.length === 0) out.push({ id: "values", severity: "ok", what: `${v.file} matches the live stack` });
  return out;
}
