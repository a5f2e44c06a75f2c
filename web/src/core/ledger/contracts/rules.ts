// Which rule applies to which transaction kind: one line per domain. Every kind in the schema table
// (tx.ts) must have its rule here, or this does not compile.
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

export const RULES: { readonly [K in TxKind]: Rule<K> } = {
  ...membershipRules,
  ...consentRules,
  ...agreementRules,
  ...accessRules,
  ...breakGlassRules,
  ...anchorRules,
  ...patientRules,
  ...flRules,
  ...reportRules,
};
