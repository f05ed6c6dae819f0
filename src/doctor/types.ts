import type { Config } from "../config/index.js";
import type { Finding } from "../engine/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import type { KeyPairFacts, VolumeEntry } from "../stack/index.js";
import type { IngressFacts } from "./ingress.js";

export type { Finding, Severity } from "../engine/index.js";

/** Everything the rules look at, gathered once (all I/O happens before the rules run). */
export interface DoctorFacts {
  platform: NodeJS.Platform;
  config: Config;
  engine:
    { reachable: true; address: string; version: string } | { reachable: false; address: string; error: string; hint: string | undefined };
  tools: {
    /** `unused`: an existing cluster (`cluster.context`), for which kind is never run. */
    kind: { version: string } | { missing: true } | { error: string } | { unused: string };
    helm: boolean;
    kubectl: boolean;
  };
  /** Per enabled service: its container as Docker has it and, when not running, its last log lines. */
  containers: Array<{ service: string; name: string; observed: ObservedContainer | undefined; logs: string }>;
  ports: Array<{
    service: string;
    key: string;
    hostIp: string;
    port: number;
    status: "free" | "ours" | "taken";
    holder?: string;
    /** Taken by a connection's local end, not a listener: the kernel's reserved ports now. */
    ephemeral?: { reservedNow: string };
  }>;
  /** Where each existing container publishes its ports, and which of its live secrets are the seed's defaults. */
  exposure?: ExposureFact[];
  /** The kind network's gateway (native Linux engine): ports published there serve pods, not the network. */
  kindGateway?: string;
  /**
   * Per enabled service: its data volume, whether the engine has it, and dify-local's record of
   * having used it (a recorded volume that is missing was deleted, with its data).
   */
  volumes: Array<{ service: string; name: string; exists: boolean; recorded: VolumeEntry | undefined }>;
  /** Each running service's own findings (its module's doctor rule), in the services' order. */
  services: Finding[];
  /** The tenants' key pairs (public key in PostgreSQL, private key in MinIO), when both run. */
  keyPairs?: KeyPairFacts;
  /** The cluster's verify checks as findings, when the cluster is enabled and exists. */
  cluster?: Finding[];
  values?: ValuesFacts;
  /** The ingress controller and classes, when the cluster is enabled and exists. */
  ingress?: IngressFacts;
}

/** A user's values.yaml next to what the live stack says it must contain. */
export interface ValuesFacts {
  file: string;
  /** The parsed file (plain data). */
  data: unknown;
  /** Leaf paths and the live values they must have, from the values renderer. */
  expected: Array<{ path: string[]; value: unknown; secret: boolean }>;
}

/** One service's container as reachable from elsewhere: its published addresses and default secrets. */
export interface ExposureFact {
  service: string;
  container: string;
  /** Every published binding, "address:port" with Docker's empty address as 0.0.0.0. */
  bindings: Array<{ address: string; port: number }>;
  /** Labels of its live secret credentials that are the seed's defaults ("password", "secret key"). */
  defaultCredentials: string[];
}
