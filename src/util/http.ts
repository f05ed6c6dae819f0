import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";

/** What an HTTP server answered: status, headers and the whole body (text). */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON. */
  json<T>(): T;
}

/** Options of {@link httpGet}. */
export interface HttpGetOptions {
  /** HEAD asks for the status and headers alone. */
  method?: "GET" | "HEAD";
  headers?: Record<string, string>;
  /** The whole exchange, connect to last byte; then an error saying it timed out. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** A larger body is an error (default 8 MiB): these answers are small JSON documents. */
  maxBytes?: number;
}

/**
 * One GET through Node's own HTTP client (`node:http`, `node:https`), never following a redirect,
 * on a connection of its own (no keep-alive socket outlives the call). For the small JSON APIs
 * dify-local asks on every `status`, `verify` and `up` (the registry, Qdrant's readiness and
 * api-key checks, MinIO's signed reads): Node's `fetch` costs about 40 ms of CPU the first time a process uses it
 * (undici and its WebAssembly HTTP parser), more than the rest of such a probe.
 * Network errors keep Node's codes (ECONNREFUSED, ENOTFOUND, TLS codes) for `networkFailure`.
 */
export function httpGet(url: string | URL, options: HttpGetOptions): Promise<HttpAnswer> {
  const target = typeof url === "string" ? new URL(url) : url;
  const max = options.maxBytes ?? 8 * 1024 * 1024;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const client = target.protocol === "https:" ? https : http;
  const method = options.method ?? "GET";
  return new Promise<HttpAnswer>((resolve, reject) => {
    const fail = (err: Error): void => {
      const timedOut = timeout.aborted && !options.signal?.aborted;
      reject(
        timedOut
          ? new Error(`${method} ${target.href}: no answer within ${options.timeoutMs / 1000}s (timed out)`, {
              cause: err,
            })
          : err,
      );
    };
    const req = client.get(target, { method, headers: options.headers ?? {}, signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= max) return void chunks.push(chunk);
        // Settled here: a promise keeps its first outcome, whatever `end` says next.
        reject(new Error(`${method} ${target.href}: the answer is larger than ${max} bytes`));
        req.destroy();
      });
      res.on("error", fail);
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
    });
    req.on("error", fail);
  });
}
