import { describe, expect, it } from "vitest";
import { connectionHolder, reserveHint, tcpSockets } from "./ports.js";

// Lines as Linux writes /proc/net/tcp: a listener on 127.0.0.1:55432 (0xD888), a connection from
// it, and a closed connection whose local end (port 55432 on another address) is in TIME_WAIT.
const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:D888 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104        0 41321 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D888 0100007F:9C40 01 00000000:00000000 00:00000000 00000000   104        0 41555 1 0000000000000000 20 4 30 10 -1
   2: 0200007F:D888 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   3: 0100007F:1F90 0200007F:D888 01 00000000:00000000 00:00000000 00000000     0        0 41777 1 0000000000000000 20 4 30 10 -1
`;

describe("tcpSockets", () => {
  it("finds every socket whose local port is the one asked, whatever its state, and none whose remote port it is", () => {
    expect(tcpSockets(TABLE, 55432)).toEqual([
      { state: "0A", inode: "41321" },
      { state: "01", inode: "41555" },
      { state: "06", inode: "0" },
    ]);
    expect(tcpSockets(TABLE, 8080)).toEqual([{ state: "01", inode: "41777" }]);
    expect(tcpSockets(TABLE, 6379)).toEqual([]);
  });

  it("reads an empty table, or none (no /proc), as no sockets", () => {
    expect(tcpSockets("", 55432)).toEqual([]);
    expect(tcpSockets(TABLE.split("\n")[0] ?? "", 55432)).toEqual([]);
  });
});

describe("connectionHolder", () => {
  const range = [32768, 60999] as const;
  it("names a closed connection's end (TIME_WAIT) and an open one's, with the ephemeral range the port lies in", () => {
    expect(connectionHolder([{ state: "06" }], 55432, range)).toBe(
      "the local end of a closed connection (TIME_WAIT, released by the kernel within a minute; 55432 is in this machine's ephemeral port range 32768-60999, from which outgoing connections take their local ports)",
    );
    expect(connectionHolder([{ state: "06" }, { state: "01" }], 55432, range)).toMatch(
      /^the local end of an open connection \(55432 is in/,
    );
    expect(connectionHolder([{ state: "01" }], 6379, range)).toBe("the local end of an open connection");
  });

  it("never takes a listener for a connection's end, even one with connections of its own (another user's server)", () => {
    expect(connectionHolder([{ state: "0A" }, { state: "01" }, { state: "06" }], 55432, range)).toBeUndefined();
    expect(connectionHolder([], 55432, range)).toBeUndefined();
  });
});

describe("reserveHint", () => {
  it("names each port once, in order, in the sysctl that keeps outgoing connections off them", () => {
    expect(reserveHint([55432])).toContain("sudo sysctl -w net.ipv4.ip_local_reserved_ports=55432 ");
    expect(reserveHint([55432, 40000, 55432])).toContain("ip_local_reserved_ports=40000,55432 ");
  });

  it("keeps the ports already reserved, since the sysctl replaces the list", () => {
    expect(reserveHint([55432], "8000-8100,9090\n")).toContain("sudo sysctl -w net.ipv4.ip_local_reserved_ports=8000-8100,9090,55432 ");
  });
});
