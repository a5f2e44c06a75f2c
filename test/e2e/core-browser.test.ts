// The wasm core in real Chromium: in a page and in a module Web Worker, served by Vite on loopback.
import { describe, expect, it } from 'vitest';
import { openFixture, useFixtureBrowser } from '../setup/fixture-browser.ts';
import type { CoreCheckResult } from './fixtures/core/checks.ts';

const fixture = useFixtureBrowser();

const expected = {
  sha256Abc: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  sha512Abc: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  sha256MillionA: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  sha256Streamed: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  // FIPS 180 SHA-512 example: the 896-bit two-block message, streamed in 17-byte chunks.
  sha512TwoBlockStreamed: '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
  rfc8032Test1PublicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  rfc8032Test1Signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  rfc8032Test1Verifies: true,
  rfc8032Test2PublicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  rfc8032Test2Signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  rfc8032Test2Verifies: true,
  tamperedVerifies: false,
  wrongLengthVerifies: false,
  randomRoundTrip: true,
} satisfies CoreCheckResult;

describe('the wasm core in Chromium', () => {
  it('hashes and signs to the published vectors in a page', async () => {
    const page = await openFixture(fixture.browser, fixture.origin, 'core', 'coreInPage');
    expect(await page.evaluate(() => window.coreInPage())).toEqual(expected);
    await page.close();
  });

  it('does the same in a module Web Worker', async () => {
    const page = await openFixture(fixture.browser, fixture.origin, 'core', 'coreInWorker');
    expect(await page.evaluate(() => window.coreInWorker())).toEqual(expected);
    await page.close();
  });
});
