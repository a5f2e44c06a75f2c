/// <reference types="fhir" />
// The contracts' records in FHIR R4 terms: a consent grant <-> Consent, an access decision -> AuditEvent.
// Everything here names patients by the pseudonym the ledger knows, never by a clinic's record id.
import type { AccessDecision } from './access.ts';
import type { ConsentRecord } from './consent.ts';

const PURPOSE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const iso = (ms: number): string => new Date(ms).toISOString();

export function consentToFhir(c: ConsentRecord): fhir4.Consent {
  return {
    resourceType: 'Consent',
    id: c.consentId,
    status: c.revoked ? 'inactive' : 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${c.patient}` },
    dateTime: iso(c.grantedAt),
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: { start: iso(c.start), end: iso(c.end) },
      actor: [
        {
          role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
          reference: c.granteePractitioner === '' ? { reference: `Organization/${c.granteeOrg}` } : { reference: `Practitioner/${c.granteePractitioner}` },
        },
      ],
      purpose: [{ system: PURPOSE_SYSTEM, code: c.purpose }],
      class: c.resourceTypes.map((t) => ({ system: 'http://hl7.org/fhir/resource-types', code: t })),
    },
  };
}

export class ConsentMappingError extends Error {
  override readonly name = 'ConsentMappingError';
}

/** The grant a FHIR Consent expresses (the fields a grantConsent transaction carries). */
export function consentFromFhir(
  c: fhir4.Consent,
  granteeOrg: string,
): { consentId: string; patient: string; granteeOrg: string; granteePractitioner: string; purpose: string; resourceTypes: string[]; start: number; end: number } {
  const p = c.provision;
  const patientRef = c.patient?.reference ?? '';
  const actorRef = p?.actor?.[0]?.reference.reference ?? '';
  const purpose = p?.purpose?.[0]?.code;
  const start = Date.parse(p?.period?.start ?? '');
  const end = Date.parse(p?.period?.end ?? '');
  if (c.id === undefined || !patientRef.startsWith('Patient/') || purpose === undefined || !Number.isFinite(start) || !Number.isFinite(end) || p?.type !== 'permit') {
    throw new ConsentMappingError('a Consent needs an id, a patient, a permit provision with a purpose and a period');
  }
  const resourceTypes = (p.class ?? []).map((k) => k.code).filter((x): x is string => typeof x === 'string');
  return {
    consentId: c.id,
    patient: patientRef.slice('Patient/'.length),
    granteeOrg: actorRef.startsWith('Organization/') ? actorRef.slice('Organization/'.length) : granteeOrg,
    granteePractitioner: actorRef.startsWith('Practitioner/') ? actorRef.slice('Practitioner/'.length) : '',
    purpose,
    resourceTypes,
    start,
    end,
  };
}

export function decisionToAuditEvent(d: AccessDecision): fhir4.AuditEvent {
  return {
    resourceType: 'AuditEvent',
    id: d.requestId,
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110', display: 'Patient Record' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    action: 'R',
    recorded: iso(d.time),
    outcome: d.decision === 'permit' ? '0' : '4',
    outcomeDesc: d.reason,
    purposeOfEvent: [{ coding: [{ system: PURPOSE_SYSTEM, code: d.purpose }] }],
    agent: [
      {
        who: { reference: `Practitioner/${d.practitioner}` },
        requestor: true,
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
      },
      { who: { reference: `Organization/${d.holderOrg}` }, requestor: false },
    ],
    source: { observer: { reference: `Organization/${d.requesterOrg}` } },
    entity: [
      { what: { reference: `Patient/${d.patient}` }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' } },
      ...d.grantedTypes.map((t) => ({ what: { type: t }, description: 'granted resource type' })),
    ],
    ...(d.breakGlass ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG', display: 'break the glass' }] } } : {}),
  };
}
