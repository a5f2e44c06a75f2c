// The paper's table, quoted as published (/work/shared/mission/paper.txt, the results table): shown beside
// the measured figures, never mixed into them. The paper gives no definitions, data sizes or code.
export interface QuotedRow {
  readonly integrity: number;
  readonly unauthorizedAccess: number;
  readonly interoperability: number;
  readonly audit: number;
  readonly latencyMs: number;
}

export const PAPER_QUOTED: { readonly source: string; readonly centralized: QuotedRow; readonly federated: QuotedRow; readonly hygeia: QuotedRow } = {
  source: 'quoted from the paper (its "blockchain-AI" row for hygeia); not measured here',
  centralized: { integrity: 0.61, unauthorizedAccess: 0.27, interoperability: 0.49, audit: 0.58, latencyMs: 320 },
  federated: { integrity: 0.72, unauthorizedAccess: 0.18, interoperability: 0.62, audit: 0.74, latencyMs: 260 },
  hygeia: { integrity: 0.86, unauthorizedAccess: 0.12, interoperability: 0.68, audit: 0.89, latencyMs: 280 },
};
