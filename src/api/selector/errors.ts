/**
 * The error a malformed selector raises: which rule of the grammar failed and the character it failed at,
 * so that a resource error can say `spec.nodeSelector: "rack = 'a'": selector syntax: expected "==" at
 * character 6`. Code SELECTOR_SYNTAX; `offset` is 0-based, messages count characters from 1.
 */
import { TabbyError } from "../../util/errors.js";

export class SelectorSyntaxError extends TabbyError {
  override readonly name = "SelectorSyntaxError";

  constructor(
    /** What was expected or wrong, without the position (`expected "=="`). */
    readonly detail: string,
    readonly selector: string,
    /** 0-based offset of the offending character. */
    readonly offset: number,
  ) {
    super("SELECTOR_SYNTAX", `${detail} at character ${offset + 1} of ${JSON.stringify(selector)}`);
  }

  /** `expected "==" at character 6`: the part a field-level message needs. */
  get rule(): string {
    return `${this.detail} at character ${this.offset + 1}`;
  }
}
