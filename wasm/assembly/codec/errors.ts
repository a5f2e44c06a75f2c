// Decoder error codes. The TypeScript codec (web/src/core/codec/errors.ts) uses the same names and numbers;
// test/unit/codec/errors.test.ts holds the two equal.
export enum CodecError {
  None = 0,
  /** The input ended inside a value. */
  Truncated = 1,
  /** A uvarint had a redundant trailing zero group (more bytes than the value needs). */
  Overlong = 2,
  /** Bytes were left after the last field of a message. */
  Trailing = 3,
  /** An integer exceeded 2^64-1 or the field's declared maximum. */
  OutOfRange = 4,
  /** The input, a byte/string field or a list exceeded its declared maximum size. */
  Oversize = 5,
  /** A string field was not well-formed UTF-8. */
  BadUtf8 = 6,
  /** A bool byte other than 0x00 or 0x01 (also the presence byte of an optional value). */
  BadBool = 7,
  /** Set or map keys not in strictly increasing order of their encodings (covers duplicates). */
  Unsorted = 8,
  /** A message type tag this decoder does not know. */
  UnknownTag = 9,
}
