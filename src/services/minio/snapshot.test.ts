import { describe, expect, it } from "vitest";
import { restorableMetadata } from "./snapshot.js";

describe("an object's metadata in a snapshot", () => {
  it("keeps the content headers and the user metadata, never response headers", () => {
    expect(
      restorableMetadata({
        "content-type": "text/plain",
        "cache-control": "no-cache",
        owner: "ana",
        "x-amz-request-id": "123",
        "X-Amz-Version-Id": "v1",
        "content-length": "5",
        etag: "abc",
        "last-modified": "yesterday",
        numeric: 5,
      }),
    ).toEqual({ "content-type": "text/plain", "cache-control": "no-cache", owner: "ana" });
  });
});
