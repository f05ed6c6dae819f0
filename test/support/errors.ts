import { UserError } from "../../src/errors.js";

/** The UserError `fn` throws; fails the test when it throws nothing or another error. */
export function userErrorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error("expected a UserError");
}
