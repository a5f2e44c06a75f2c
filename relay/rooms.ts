// The relay's rooms and who may be in them (finding 13 and the clinic-node issue):
//   hygeia/consortium/v1 (and sub-rooms hygeia/consortium/v1/<name>): the members' room, clinic node keys only;
//   hygeia/patients/v1: a star room, clinics and registered patient or guardian keys; a phone's messages reach
//     clinics only, a clinic's messages reach phones only (clinics meet each other in the members' room);
//   hygeia/enrol/v1/<sha256(code) hex>: a phone holding that one-time code, and the clinic that registered it.
// Any other topic is nobody's.

import type { Role } from './auth.ts';
import { codeHashOfTopic, type EnrolmentRegistry } from './enrolments.ts';

export const CONSORTIUM_ROOM = 'hygeia/consortium/v1';
export const PATIENTS_ROOM = 'hygeia/patients/v1';

export type RoomKind = 'members' | 'star';

/** What kind of room a topic is, or null if it is not one of ours. */
export function roomKind(topic: string): RoomKind | null {
  if (topic === CONSORTIUM_ROOM || (topic.startsWith(`${CONSORTIUM_ROOM}/`) && topic.length > CONSORTIUM_ROOM.length + 1)) return 'members';
  if (topic === PATIENTS_ROOM || codeHashOfTopic(topic) !== null) return 'star';
  return null;
}

/** Whether a connection of this role (and key, and enrolment) may subscribe to a topic. */
export function maySubscribe(who: { role: Role; key: string; codeHash: string | null }, topic: string, enrolments: EnrolmentRegistry): boolean {
  const kind = roomKind(topic);
  if (kind === 'members') return who.role === 'clinic';
  if (topic === PATIENTS_ROOM) return who.role === 'clinic' || who.role === 'patient';
  const codeHash = codeHashOfTopic(topic);
  if (codeHash === null) return false;
  if (who.role === 'enrolling') return who.codeHash === codeHash;
  if (who.role === 'clinic') return enrolments.get(codeHash)?.clinicKey === who.key;
  return false;
}

/** Whether a message from a sender of one role may reach a receiver of another in a room of this kind. */
export function mayReach(kind: RoomKind, sender: Role, receiver: Role): boolean {
  if (kind === 'members') return sender === 'clinic' && receiver === 'clinic';
  // A star: exactly one end is a clinic.
  return (sender === 'clinic') !== (receiver === 'clinic');
}
