import { it } from "vitest";

// Stands for any test of a required tier that did not run, whatever the reason.
it.skip("a required test that did not run", () => undefined);
