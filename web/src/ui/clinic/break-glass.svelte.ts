// Break-glass accesses this tablet made in this session: the banner stays up while any is open, so nobody
// forgets that emergency access is in use (every one is on the ledger and goes to the auditors' queue).

export interface BreakGlassUse {
  readonly requestId: string;
  readonly holder: string;
  readonly patient: string;
  readonly reason: string;
  readonly at: number;
}

class BreakGlassSession {
  uses = $state<BreakGlassUse[]>([]);

  add(use: BreakGlassUse): void {
    this.uses = [...this.uses, use];
  }

  close(): void {
    this.uses = [];
  }
}

export const breakGlass = new BreakGlassSession();
