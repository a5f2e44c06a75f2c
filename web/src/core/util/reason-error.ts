/**
 * An error that says why in one word a caller can branch on (`reason`), with a message for people. A subclass
 * names itself (`override readonly name = '…'`) and narrows R to its own reasons.
 */
export class ReasonError<R extends string> extends Error {
  constructor(
    readonly reason: R,
    message: string,
  ) {
    super(message);
  }
}
