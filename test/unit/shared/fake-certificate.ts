// A stand-in for commit certificates in tests of the structure around them (blocks, the host adapter): the
// certificate of height `seq` is the text `cert<seq>`, and the injected verifier accepts exactly that. Real
// commit certificates are checked against the wasm replica's verifier in the consensus and simulator tests.
import type { CertificateVerifier } from '../../../web/src/core/ledger/index.ts';

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The stand-in certificate of height `seq`. */
export const fakeCertificate = (seq: number): Uint8Array => utf8(`cert${seq}`);

/** Accepts exactly the stand-in certificate of the height asked about (any validator set). */
export const verifyFakeCertificate: CertificateVerifier = (c, _validators, seq) => new TextDecoder().decode(c) === `cert${seq}`;
