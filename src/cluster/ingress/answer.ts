import { OperationError, messageOf } from "../../errors.js";
import { DIFY_DOMAINS } from "../../helm/index.js";
import { hostPort } from "../../services/index.js";
import { httpGet, pollUntil } from "../../util/index.js";

/** What answered an HTTP request to the ingress port: its status and Server header, or why nothing did. */
export type IngressAnswer = { status: number; server: string | undefined } | { error: string };

/**
 * One request to `http://host:port/` with `Host: console.dify.local`, as a browser sends it once
 * the hosts line is in. Any HTTP answer counts: before Dify is installed the controller's default
 * backend answers 404. Docker's port proxy accepts the connection even when nothing listens in the
 * node, then closes it: that is an error here, not an answer.
 */
export async function askIngress(host: string, port: number, timeoutMs = 3000): Promise<IngressAnswer> {
  try {
    const res = await httpGet(`http://${hostPort(host, port)}/`, { headers: { Host: DIFY_DOMAINS.console }, timeoutMs });
    const server = res.headers.server;
    return { status: res.status, server: typeof server === "string" ? server : undefined };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: code ? `${code} (${messageOf(err)})` : messageOf(err) };
  }
}

/** Polls until the ingress port gives an HTTP answer; the timeout says what the last attempt got. */
export async function waitIngressAnswers(
  host: string,
  port: number,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<{ status: number; server: string | undefined }> {
  let last: IngressAnswer = { error: "not asked yet" };
  return pollUntil(
    async () => {
      last = await askIngress(host, port);
      return "status" in last ? last : undefined;
    },
    {
      initialMs: 200,
      timeoutMs: timeoutSeconds * 1000,
      signal,
      onTimeout: () =>
        new OperationError(
          `the ingress controller does not answer on http://${host}:${port}/ (Host: ${DIFY_DOMAINS.console}) after ${timeoutSeconds}s: ${"error" in last ? last.error : ""}`,
          { hint: "`dify-local doctor` explains what holds the port or why the controller is not ready" },
        ),
    },
  );
}
