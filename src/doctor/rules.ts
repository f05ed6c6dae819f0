import { KIND_INSTALL_HINT, MIN_KIND_VERSION } from "../cluster/index.js";
import { airplayNote, reserveHint } from "../engine/index.js";
import { dataLostMessage, keyPairFindings } from "../stack/index.js";
import type { DoctorFacts, Finding } from "./types.js";

/** A rule: facts in, findings out. Pure, so each is unit-testable on hand-made facts. */
export type Rule = (facts: DoctorFacts) => Finding[];

export const prerequisites: Rule = (f) => {
  const out: Finding[] = [];
  out.push(
    f.engine.reachable
      ? { id: "prereq.engine", severity: "ok", what: `Docker engine ${f.engine.version} at ${f.engine.address}` }
      : {
          id: "prereq.engine",
          severity: "error",
          what: `no Docker engine reachable at ${f.engine.address}`,
          why: f.engine.error,
          fix: f.engine.hint ?? "start Docker",
        },
  );
  const k = f.tools.kind;
  const needKind = f.config.cluster.enabled;
  if ("unused" in k)
    out.push({ id: "prereq.kind", severity: "info", what: `kind is not used: the cluster is the existing context ${k.unused}` });
  else if ("version" in k) out.push({ id: "prereq.kind", severity: "ok", what: `kind ${k.version}` });
  else if ("missing" in k) {
    out.push({
      id: "prereq.kind",
      severity: needKind ? "error" : "info",
      what: "kind is not installed",
      why: `the cluster needs kind ${MIN_KIND_VERSION} or newer`,
      fix: KIND_INSTALL_HINT,
    });
  } else
    out.push({
      id: "prereq.kind",
      severity: needKind ? "error" : "info",
      what: "kind is not usable",
      why: k.error,
      fix: KIND_INSTALL_HINT,
    });
  out.push(
    f.tools.helm
      ? { id: "prereq.helm", severity: "ok", what: "helm is installed" }
      : {
          id: "prereq.helm",
          severity: "warning",
          what: "helm is not installed",
          why: "installing the Dify EE chart needs it",
          fix: "brew install helm (macOS), or see https://helm.sh/docs/intro/install/",
        },
    f.tools.kubectl
      ? { id: "prereq.kubectl", severity: "ok", what: "kubectl is installed" }
      : {
          id: "prereq.kubectl",
          severity: "warning",
          what: "kubectl is not installed",
          why: "the seed's checks and day-to-day cluster work use it",
          fix: "brew install kubectl (macOS), or see https://kubernetes.io/docs/tasks/tools/",
        },
  );
  return out;
};

export const ports: Rule = (f) => {
  const out: Finding[] = f.ports
    .filter((p) => p.status === "taken")
    .map((p) => ({
      id: `ports.${p.key}`,
      severity: "error" as const,
      what: `port ${p.hostIp}:${p.port} (${p.key}) is held by ${p.holder ?? "another process"}${airplayNote(p.port, f.platform)}`,
      why: `dify-local publishes ${p.service} there; up stops before changing anything while it is taken`,
      fix: p.ephemeral
        ? `${reserveHint([p.port], p.ephemeral.reservedNow)}, or set ${p.key} to a free port in dify-local.yaml`
        : `stop ${p.holder ?? "what holds it"}, or set ${p.key} to a free port in dify-local.yaml`,
    }));
  if (f.platform === "darwin" && f.config.registry.port === 5000) {
    out.push({
      id: "ports.registry.airplay",
      severity: "warning",
      what: "registry.port is 5000",
      why: "on macOS AirPlay Receiver listens on 5000; the seed moved the registry to 5050 for this reason",
      fix: "set registry.port: 5050 in dify-local.yaml (or turn off AirPlay Receiver)",
    });
  }
  if (out.length === 0 && f.ports.length > 0)
    out.push({ id: "ports", severity: "ok", what: "every configured port is free or held by its own container" });
  return out;
};

export const containers: Rule = (f) =>
  f.containers.map((c): Finding => {
    const id = `containers.${c.service}`;
    if (!c.observed) return { id, severity: "error", what: `container ${c.name} does not exist`, fix: "dify-local up" };
    const logs = c.logs
      ? `; last log lines:\n${c.logs
          .split("\n")
          .slice(-10)
          .map((l) => `    ${l}`)
          .join("\n")}`
      : "";
    if (c.observed.state === "restarting") {
      return {
        id,
        severity: "error",
        what: `container ${c.name} keeps restarting${logs}`,
        why: "its process exits right after starting",
        fix: `docker logs ${c.name}`,
      };
    }
    if (!c.observed.running) {
      return {
        id,
        severity: "error",
        what: `container ${c.name} is ${c.observed.state}${logs}`,
        fix: `dify-local up (or: docker start ${c.name})`,
      };
    }
    return { id, severity: "ok", what: `container ${c.name} is running` };
  });

/**
 * Data volumes dify-local used that are gone: deleted by hand (with their container, as Docker
 * requires), by `docker volume prune`, or with the engine's data. Their data is lost; `up` would
 * start the service on an empty volume. Said loudly, never papered over.
 */
export const volumes: Rule = (f) =>
  f.volumes.flatMap((v): Finding[] =>
    v.recorded && !v.exists
      ? [
          {
            id: `volumes.${v.service}`,
            severity: "error",
            what: dataLostMessage(v.recorded, false),
            why:
              `dify-local kept ${v.service}'s data in it; it was deleted outside dify-local (docker volume rm, docker volume prune, ` +
              "or the engine's data reset), and its data with it",
            fix:
              `restore ${v.name} from a backup if you have one; otherwise \`dify-local up\` creates it empty (and says so), ` +
              "or `dify-local down --purge` starts over on purpose",
          },
        ]
      : [],
  );

/** Each running service's own diagnosis, from its module. */
export const services: Rule = (f) => f.services;

/** The tenants' key pairs: each tenant whose private key is missing or does not match, by name (see `keyPairFindings`). */
export const keyPairs: Rule = (f) => (f.keyPairs ? keyPairFindings(f.keyPairs) : []);

export const cluster: Rule = (f) => f.cluster ?? [];

/** Addresses only this machine reaches: loopback, and the kind network's gateway (pods reach the host there). */
function isLocalAddress(address: string, kindGateway: string | undefined): boolean {
  return /^127\./.test(address) || address === "::1" || address === "localhost" || address === kindGateway;
}

function joinBindings(bindings: ReadonlyArray<{ address: string; port: number }>): string {
  return [...new Set(bindings.map((b) => `${b.address}:${b.port}`))].join(", ");
}

const KEEP_LOCAL = "publish it on loopback only: bind: 127.0.0.1 in dify-local.yaml (the default), then `dify-local up`";

/**
 * Exposure: a service published beyond this machine (bind 0.0.0.0 or a non-loopback address, or a
 * hand-made container published so) with the seed's default password is a warning, and so is the
 * MinIO bucket writable without credentials (`minio.anonymous: public`) while MinIO is. The kind
 * network's gateway does not count: only this machine's containers reach it.
 */
export const exposure: Rule = (f) => {
  const out: Finding[] = [];
  for (const e of f.exposure ?? []) {
    const wide = e.bindings.filter((b) => !isLocalAddress(b.address, f.kindGateway));
    if (wide.length === 0) continue;
    const where = joinBindings(wide);
    if (e.defaultCredentials.length > 0) {
      out.push({
        id: `exposure.${e.service}`,
        severity: "warning",
        what: `${e.container} is reachable beyond this machine (${where}) with the seed's default ${e.defaultCredentials.join(" and ")}`,
        why: "the seed's passwords are printed in every tutorial: anyone on your network can log in",
        fix: `${KEEP_LOCAL}; or give ${e.service} a password of its own in dify-local.yaml and run \`dify-local up\``,
      });
    } else {
      out.push({
        id: `exposure.${e.service}`,
        severity: "info",
        what: `${e.container} is reachable beyond this machine (${where}); its credentials are not the seed's defaults`,
      });
    }
    if (e.service === "minio" && f.config.minio.enabled && f.config.minio.anonymous === "public") {
      out.push({
        id: "exposure.minio.anonymous",
        severity: "warning",
        what: `bucket ${f.config.minio.bucket} is writable without credentials (minio.anonymous: public) and MinIO is reachable beyond this machine (${where})`,
        why: "anyone on your network can read, replace or delete every object in it, plugin packages and tenants' private keys (privkeys/) included",
        fix: `${KEEP_LOCAL}; or set minio.anonymous: download (read-only) and run \`dify-local up\``,
      });
    }
  }
  if (out.length === 0 && (f.exposure ?? []).length > 0)
    out.push({ id: "exposure", severity: "ok", what: "every published port is on loopback (or the kind network's gateway, for pods)" });
  return out;
};
