import { Agent, type AgentOptions, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { inspect } from "node:util";

/** How the engine is reached, for its agent: a socket file, plain TCP, or TLS. */
export type EngineTransport = "socket" | "http" | "https";

type AddRequest = (this: Agent, req: ClientRequest, options: unknown) => void;

/** The error of an answer the engine cut off: what a connection reset says, so callers treat it as the engine going away. */
export class AnswerCutError extends Error {
  readonly code = "ECONNRESET";
  constructor() {
    super("the engine closed the connection in the middle of its answer");
  }
}

/**
 * The agent dockerode's requests go through: Node's default one (keep-alive, as Node 20's global
 * agents are), with two changes.
 *
 * - An answer cut off in the middle fails its request. docker-modem settles a call on the end of
 *   the response or on an error of the request; when the connection closes after the response has
 *   begun (the engine stopped or restarted mid-answer), Node reports it on the response only, so
 *   the call stayed pending forever and the CLI ended with Node's exit code 13 ("unsettled
 *   top-level await") instead of saying that the engine had gone. Such a request now gets an
 *   {@link AnswerCutError}, after the response's own events, so a caller that already has the
 *   response (a stream) or an error is not told twice: docker-modem takes the first outcome.
 * - Over a socket file, no TLS server name is worked out: for each request Node's agent otherwise
 *   asks whether the Host header (`localhost`) is an IP address, and the first such question
 *   compiles the IPv6 pattern, about 3 ms of every command (CPU profile). The name is only ever
 *   used by TLS.
 */
export function engineAgent(transport: EngineTransport): Agent {
  const options: AgentOptions & { servername?: string } = { keepAlive: true, scheduling: "lifo", timeout: 5000 };
  if (transport === "socket") options.servername = "";
  const agent: Agent = transport === "https" ? new HttpsAgent(options) : new Agent(options);
  const target = agent as unknown as { addRequest: AddRequest };
  const addRequest = target.addRequest;
  target.addRequest = function (req, requestOptions) {
    failCutAnswers(req);
    addRequest.call(this, req, requestOptions);
  };
  // docker-modem formats every request's options for its debug log, whether that log is on or
  // not, with `showHidden` and no depth limit: an agent and its sockets, walked in full, cost more
  // than the server name saved. (The CLI's bundle formats them only when DEBUG prints the line,
  // scripts/bundle-cli.mjs; the library runs docker-modem as shipped.)
  Object.defineProperty(agent, inspect.custom, { value: () => `EngineAgent(${transport})` });
  return agent;
}

function failCutAnswers(req: ClientRequest): void {
  req.once("response", (res: IncomingMessage) => {
    res.once("close", () => {
      if (!res.complete) setImmediate(() => req.emit("error", new AnswerCutError()));
    });
  });
}
