/**
 * Thrown by every loader and validator in this library when a file or object
 * does not follow its format. The message names the field, what was found and
 * what is allowed, plus the source (usually a file path).
 */
export class ContractError extends Error {
  override readonly name = 'ContractError';

  constructor(
    message: string,
    /** Where the offending value came from (file path or a caller-given label). */
    readonly source: string,
    /** Dotted path of the offending field, when one field is at fault. */
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} (in ${source})`, options);
  }
}
