export type { ApplyContext, ApplyResult, LedgerApp } from './app.ts';
