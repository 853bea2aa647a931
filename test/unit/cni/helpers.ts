/** Shared checks for the CNI unit tests: run a call that must fail and hand back its CniError. */
import { expect } from "vitest";
import { CniError } from "../../../src/cni/errors.js";

/** The CniError `fn` throws; fails the test if it throws nothing or something else. */
export function cniError(fn: () => unknown): CniError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, "expected a CniError to be thrown").toBeInstanceOf(CniError);
  return thrown as CniError;
}

/** `fn` fails with CNI code `code` and a message containing every one of `parts`. */
export function expectCniError(fn: () => unknown, code: number, ...parts: string[]): CniError {
  const e = cniError(fn);
  expect(e.code, e.message).toBe(code);
  for (const p of parts) expect(e.message).toContain(p);
  return e;
}
