// The consortium's member keys, from the JSON file HYGEIA_MEMBERS names:
//   { "members": [ { "name": "St. Mary's tablet 1", "publicKey": "<64 hex chars>" } ] }
// The file is re-read when it changes (checked at most every `recheckMs`), so an operator adds or removes a
// member without restarting the relay; a file that stops parsing keeps the last good list and logs why.

import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from './log.ts';
import { keyPrefix } from './log.ts';
import type { Member } from './signaling.ts';

export class MembersFileError extends Error {
  override readonly name = 'MembersFileError';
  constructor(
    readonly code: 'unreadable' | 'not-json' | 'bad-shape' | 'bad-key' | 'duplicate-key' | 'too-many',
    message: string,
  ) {
    super(message);
  }
}

const MAX_MEMBERS = 100_000;
const MAX_NAME_LENGTH = 200;

/** Parses and validates the members file's text. */
export function parseMembers(text: string): Member[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MembersFileError('not-json', 'the members file is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { members?: unknown }).members)) {
    throw new MembersFileError('bad-shape', 'the members file must be { "members": [ { "name", "publicKey" } ] }');
  }
  const list = (doc as { members: unknown[] }).members;
  if (list.length > MAX_MEMBERS) throw new MembersFileError('too-many', `more than ${MAX_MEMBERS} members`);
  const seen = new Set<string>();
  return list.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null) throw new MembersFileError('bad-shape', `member ${i} is not an object`);
    const { name, publicKey } = entry as { name?: unknown; publicKey?: unknown };
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new MembersFileError('bad-shape', `member ${i} needs a name of 1..${MAX_NAME_LENGTH} characters`);
    }
    if (typeof publicKey !== 'string' || !/^[0-9a-fA-F]{64}$/.test(publicKey)) {
      throw new MembersFileError('bad-key', `member ${i} needs a publicKey of 64 hex characters`);
    }
    const key = publicKey.toLowerCase();
    if (seen.has(key)) throw new MembersFileError('duplicate-key', `member ${i} repeats a public key`);
    seen.add(key);
    return { name, publicKey: key };
  });
}

export class MemberRegistry {
  private byKey = new Map<string, Member>();
  private stamp = '';
  private lastCheck = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly recheckMs = 250,
  ) {
    this.reload(true);
  }

  get size(): number {
    this.maybeReload();
    return this.byKey.size;
  }

  lookup(publicKeyHex: string): Member | undefined {
    this.maybeReload();
    return this.byKey.get(publicKeyHex);
  }

  list(): Member[] {
    this.maybeReload();
    return [...this.byKey.values()];
  }

  /** Adds a member and rewrites the file atomically (the development enrolment path). */
  add(member: Member): void {
    const current = this.list();
    if (current.some((m) => m.publicKey === member.publicKey)) return;
    const next = [...current, member];
    writeMembersFile(this.path, next);
    this.reload(true);
    this.log.info('member added', { member: member.name, key: keyPrefix(member.publicKey) });
  }

  private maybeReload(): void {
    const now = Date.now();
    if (now - this.lastCheck < this.recheckMs) return;
    this.lastCheck = now;
    this.reload(false);
  }

  private reload(strict: boolean): void {
    let stamp: string;
    let text: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (!strict && stamp === this.stamp) return;
      text = readFileSync(this.path, 'utf8');
    } catch {
      const err = new MembersFileError('unreadable', `cannot read the members file ${this.path}`);
      if (strict) throw err;
      this.log.warn('members file unreadable; keeping the last good list', { path: this.path });
      return;
    }
    try {
      const members = parseMembers(text);
      this.byKey = new Map(members.map((m) => [m.publicKey, m]));
      this.stamp = stamp;
      this.log.info('members loaded', { path: this.path, members: members.length });
    } catch (err) {
      if (strict) throw err;
      this.stamp = stamp;
      this.log.warn('members file invalid; keeping the last good list', { path: this.path, error: (err as Error).message });
    }
  }
}

export function writeMembersFile(path: string, members: readonly Member[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.members-${process.pid}-${Date.now()}.tmp`);
  writeFileSync(tmp, `${JSON.stringify({ members: members.map((m) => ({ name: m.name, publicKey: m.publicKey })) }, null, 2)}\n`);
  renameSync(tmp, path);
}

/**
 * The development consortium used when HYGEIA_MEMBERS is unset: `<dir>/dev-members.json`, created empty on
 * first start, inside a directory that ignores itself in git. Returns the path and whether it was created.
 */
export function ensureDevMembersFile(dir: string): { path: string; created: boolean } {
  const path = join(dir, 'dev-members.json');
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, '.gitignore'), '*\n', { flag: 'wx' });
  } catch {
    // already there
  }
  try {
    statSync(path);
    return { path, created: false };
  } catch {
    writeMembersFile(path, []);
    return { path, created: true };
  }
}
