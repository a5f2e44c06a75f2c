// Reading and driving clinic tablets through `window.hygeia` (the node's API in the page), for the browser
// tests of the node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { eventually } from '../../integration/relay/helpers.ts';
import { SYNTHEA } from '../ui/stack.ts';

export interface Snapshot {
  role: string;
  name: string;
  status: string;
  peers: string[];
  ledger: { height: number; headHash: string; view: number; validators: string[] };
}
export type Bundle = { entry: { resource: { resourceType: string; id: string } }[] };

/** A Synthea bundle of ../shared/data/synthea, by file name. */
export const syntheaBundle = (file: string): Bundle => JSON.parse(readFileSync(join(SYNTHEA, file), 'utf8')) as Bundle;

/** Calls `window.hygeia[method](...args)` in the page. */
export function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([m, a]) => (window as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)['hygeia']![m as string]!(...(a as unknown[])) as Promise<T>,
    [method, args] as const,
  );
}

export const snap = (page: Page): Promise<Snapshot> => page.evaluate(() => (window as unknown as { hygeia: { snapshot(): Snapshot } }).hygeia.snapshot());

/** Waits until every page reports the same height (at least `min`) and the same head hash. */
export async function agreeOnHead(pages: Page[], min = 1, ms = 90_000): Promise<Snapshot['ledger']> {
  let last: Snapshot['ledger'][] = [];
  await eventually(
    async () => {
      last = (await Promise.all(pages.map(snap))).map((s) => s.ledger);
      return last[0]!.height >= min && last.every((l) => l.height === last[0]!.height && l.headHash === last[0]!.headHash);
    },
    `${pages.length} pages to agree on one head at height ≥ ${min}`,
    ms,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(last.map((l) => [l.height, l.headHash.slice(0, 8)]))}`);
  });
  return last[0]!;
}
