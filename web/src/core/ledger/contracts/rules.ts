// Which rule applies to which transaction kind: one line per domain. Every kind in the schema table
// (tx.ts) must have its rule here, or this does not compile. The table is built on first use, not at import:
// a domain module may sit on an import cycle (fl.ts reaches the security face, which imports the contracts'),
// and a table spread at import time would then miss that domain's rules.
import type { TxKind } from './tx.ts';
import type { Rule } from './state-core.ts';
import { membershipRules } from './membership.ts';
import { consentRules } from './consent.ts';
import { agreementRules } from './agreements.ts';
import { accessRules } from './access.ts';
import { breakGlassRules } from './break-glass.ts';
import { anchorRules } from './anchors.ts';
import { patientRules } from './patients.ts';
import { flRules } from './fl.ts';
import { reportRules } from './reports.ts';

type RuleTable = { readonly [K in TxKind]: Rule<K> };
let table: RuleTable | null = null;

export function ruleOf<K extends TxKind>(kind: K): Rule<K> {
  table ??= build();
  return table[kind];
}

const build = (): RuleTable => ({
  ...membershipRules,
  ...consentRules,
  ...agreementRules,
  ...accessRules,
  ...breakGlassRules,
  ...anchorRules,
  ...patientRules,
  ...flRules,
  ...reportRules,
});
