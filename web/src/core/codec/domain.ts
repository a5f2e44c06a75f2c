// Domain separation: what every signature in Hygeia covers.
import { Writer } from './writer.ts';

const TAG = /^hygeia\/[a-z0-9-]+\/[a-z0-9-]+\/v[0-9]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * uvarint(len(tag)) ‖ ASCII(tag) ‖ body. The length prefix keeps (tag, body) pairs from colliding.
 * Tags are printable-ASCII constants, by convention 'hygeia/<subsystem>/<message>/v<n>' (see domainTag).
 */
export function signingBytes(tag: string, body: Uint8Array): Uint8Array {
  if (!PRINTABLE_ASCII.test(tag)) throw new TypeError('a domain tag is non-empty printable ASCII');
  const w = new Writer(tag.length + body.length + 2);
  w.str(tag);
  w.fixed(body);
  return w.finish();
}

/** 'hygeia/<subsystem>/<message>/v<version>', checked: lower-case letters, digits and '-'. */
export function domainTag(subsystem: string, message: string, version = 1): string {
  const tag = `hygeia/${subsystem}/${message}/v${version}`;
  if (!TAG.test(tag) || !Number.isSafeInteger(version) || version < 1) throw new TypeError(`not a valid domain tag: ${tag}`);
  return tag;
}
