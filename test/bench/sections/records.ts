// Import speed of the encrypted record store (resources per second into IndexedDB: reference rewriting,
// per-patient AES-GCM, keyed index tags, versions) beside the anchor: a plain, unencrypted `idb` put loop of
// the same resources. In Node both run on fake-indexeddb, so the ratio is the cost of our layer over idb.
import 'fake-indexeddb/auto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDB } from 'idb';
import { initCore } from '../../../wasm/index.ts';
import { RecordStore } from '../../../web/src/core/records/index.ts';
import { ratio, type BenchSection, type Row } from '../harness.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.resolve(repoRoot, '../shared/data/synthea');

interface Entry {
  resource: { resourceType: string; id: string };
}

function loadBundles(): { bundles: unknown[]; resources: number } {
  const bundles = readdirSync(dataDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dataDir, f), 'utf8')) as { entry: Entry[] });
  return { bundles, resources: bundles.reduce((n, b) => n + b.entry.length, 0) };
}

let dbSeq = 0;

async function encryptedRound(bundles: unknown[]): Promise<number> {
  const store = await RecordStore.open(`bench-records-enc-${++dbSeq}`, new Uint8Array(32).fill(7));
  let n = 0;
  for (const b of bundles) {
    const report = await store.importBundle(b);
    if (report.rejected.length > 0) throw new Error(`bench import rejected ${report.rejected.length} entries`);
    n += Object.values(report.imported).reduce((a, c) => a + c, 0);
  }
  return n;
}

async function plainRound(bundles: unknown[]): Promise<number> {
  const db = await openDB(`bench-records-plain-${++dbSeq}`, 1, {
    upgrade(d) {
      d.createObjectStore('resources');
    },
  });
  let n = 0;
  for (const b of bundles as { entry: Entry[] }[]) {
    const tx = db.transaction('resources', 'readwrite');
    for (const e of b.entry) void tx.store.put(e.resource, `${e.resource.resourceType}/${e.resource.id}`);
    await tx.done;
    n += b.entry.length;
  }
  db.close();
  return n;
}

async function rate(round: () => Promise<number>, minMs: number): Promise<{ perSec: number; rounds: number }> {
  await round(); // warm-up
  let resources = 0;
  let rounds = 0;
  const start = performance.now();
  do {
    resources += await round();
    rounds++;
  } while (performance.now() - start < minMs);
  return { perSec: Math.round((resources * 1000) / (performance.now() - start)), rounds };
}

const section: BenchSection = {
  name: 'records',
  async run(ctx) {
    await initCore();
    const { bundles, resources } = loadBundles();
    const minMs = ctx.quick ? 1500 : 6000;
    const encrypted = await rate(() => encryptedRound(bundles), minMs);
    ctx.log(`records encrypted import: ${encrypted.perSec} resources/s over ${encrypted.rounds} rounds`);
    const plain = await rate(() => plainRound(bundles), minMs);
    ctx.log(`records plain idb put loop: ${plain.perSec} resources/s over ${plain.rounds} rounds`);
    const r = ratio(encrypted.perSec, plain.perSec);
    const rows: Row[] = [
      { what: 'hygeia RecordStore.importBundle (encrypted)', 'resources/s': encrypted.perSec, 'x plain idb': r },
      { what: 'idb put loop (unencrypted anchor)', 'resources/s': plain.perSec, 'x plain idb': 1 },
    ];
    return {
      rows,
      data: {
        backend: 'fake-indexeddb',
        bundles: bundles.length,
        resourcesPerRound: resources,
        encryptedPerSec: encrypted.perSec,
        plainPerSec: plain.perSec,
        ratioEncryptedToPlain: r,
      },
      // The issue sets no target here: the figure is the cost of our layer over plain idb, watched between runs.
      targets: [],
    };
  },
};

export default section;
