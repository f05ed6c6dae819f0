import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { bothCases, nodeProxyEnv } from "./proxy.js";

describe("nodeProxyEnv", () => {
  it("is empty without a proxy in the config or the environment", () => {
    expect(nodeProxyEnv(parseConfig({}), {}, "172.18.0.0/16")).toEqual({});
    expect(nodeProxyEnv(parseConfig({}), { NO_PROXY: "x" }, undefined)).toEqual({});
  });

  it("takes the environment's proxy and always adds what must not go through it", () => {
    const env = nodeProxyEnv(parseConfig({}), { https_proxy: "http://proxy:3128", NO_PROXY: "corp.example, 10.0.0.0/8" }, "172.18.0.0/16");
    expect(env.HTTPS_PROXY).toBe("http://proxy:3128");
    expect(env.HTTP_PROXY).toBeUndefined();
    expect(env.NO_PROXY?.split(",")).toEqual([
      "corp.example",
      "10.0.0.0/8",
      "host.docker.internal",
      "localhost",
      "127.0.0.1",
      ".svc",
      ".svc.cluster.local",
      ".cluster.local",
      "172.18.0.0/16",
    ]);
  });

  it("prefers cluster.proxy over the environment, and lists each host once", () => {
    const config = parseConfig({
      cluster: { proxy: { http: "http://cfg:8080", https: "http://cfg:8443", noProxy: ["localhost", "git.corp"] } },
    });
    const env = nodeProxyEnv(config, { HTTP_PROXY: "http://env:1" }, undefined);
    expect(env).toEqual({
      HTTP_PROXY: "http://cfg:8080",
      HTTPS_PROXY: "http://cfg:8443",
      NO_PROXY: "localhost,git.corp,host.docker.internal,127.0.0.1,.svc,.svc.cluster.local,.cluster.local",
    });
    expect(bothCases(env)).toMatchObject({ http_proxy: "http://cfg:8080", NO_PROXY: env.NO_PROXY, no_proxy: env.NO_PROXY });
  });

  it("refuses a proxy that is not a URL, naming the key", () => {
    expect(() => parseConfig({ cluster: { proxy: { http: "proxy:3128" } } })).toThrow(/cluster\.proxy\.http/);
  });
});
