/// <reference types="fhir" />
// The baselines' record store: FHIR resources as jsonb rows in PostgreSQL (PGlite), one schema per store,
// with the integrity protection an ordinary EHR database has: a trigger keeps each row's version and sha256
// checksum and appends every write, with the application user who made it, to a history table; the
// integrity check compares rows, checksums and history. Rows, checksums, history and the audit log live in
// the same database, so whoever can administer it can rewrite all of them: the tamper kinds below do exactly
// what such an insider can do, and the check reports what it can still see.
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { TamperKind } from './workload.ts';

export interface AuditRow {
  readonly requestId: string;
  readonly actor: string;
  readonly requesterOrg: string;
  readonly holderOrg: string;
  readonly patient: string;
  readonly decision: 'permit' | 'deny';
}

export class SqlRecords {
  constructor(
    readonly db: PGlite,
    readonly schema: string,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new RangeError('schema names are lower-case identifiers');
  }

  private get s(): string {
    return this.schema;
  }

  async init(): Promise<void> {
    const s = this.s;
    await this.db.exec(`
      create schema if not exists ${s};
      create table ${s}.records (rid text primary key, patient text not null, org text not null, rtype text not null, version int not null default 0, body jsonb not null, sum text not null default '');
      create table ${s}.history (n serial primary key, rid text not null, version int not null, sum text not null, actor text not null);
      create table ${s}.audit (n serial primary key, request_id text not null, actor text not null, requester_org text not null, holder_org text not null, patient text not null, decision text not null);
      create function ${s}.stamp() returns trigger as $$
      begin
        new.version := coalesce(old.version, 0) + 1;
        new.sum := encode(sha256(convert_to(new.body::text, 'UTF8')), 'hex');
        insert into ${s}.history(rid, version, sum, actor) values (new.rid, new.version, new.sum, coalesce(current_setting('app.user', true), ''));
        return new;
      end $$ language plpgsql;
      create trigger stamp before insert or update on ${s}.records for each row execute function ${s}.stamp();
    `);
    await this.keepVersions();
  }

  /** A write through the application: the trigger records `actor` in the history. */
  async put(resource: fhir4.Resource, patient: string, org: string, actor: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`select set_config('app.user', $1, true)`, [actor]);
      const rid = `${resource.resourceType}/${resource.id}`;
      // An update or an insert, never an upsert: an upsert fires the insert trigger before it turns into an update.
      const updated = await tx.query(`update ${this.s}.records set body = $2 where rid = $1`, [rid, resource]);
      if ((updated.affectedRows ?? 0) === 0)
        await tx.query(`insert into ${this.s}.records(rid, patient, org, rtype, body) values ($1, $2, $3, $4, $5)`, [rid, patient, org, resource.resourceType, resource]);
    });
  }

  async resources(patient: string, types: readonly string[]): Promise<fhir4.Resource[]> {
    const r = await this.db.query<{ body: fhir4.Resource }>(`select body from ${this.s}.records where patient = $1 and rtype = any($2) order by rid`, [patient, [...types]]);
    return r.rows.map((x) => x.body);
  }

  async has(rid: string): Promise<boolean> {
    return (await this.db.query(`select 1 from ${this.s}.records where rid = $1`, [rid])).rows.length > 0;
  }

  /** Every row of the patient as an insider reads it straight from the database (text, as psql shows it). */
  async rawRows(patient: string): Promise<string> {
    const r = await this.db.query<{ t: string }>(`select body::text as t from ${this.s}.records where patient = $1`, [patient]);
    return r.rows.map((x) => x.t).join('\n');
  }

  async log(row: AuditRow): Promise<void> {
    await this.db.query(`insert into ${this.s}.audit(request_id, actor, requester_org, holder_org, patient, decision) values ($1, $2, $3, $4, $5, $6)`, [
      row.requestId,
      row.actor,
      row.requesterOrg,
      row.holderOrg,
      row.patient,
      row.decision,
    ]);
  }

  async auditRows(): Promise<AuditRow[]> {
    const r = await this.db.query<{ request_id: string; actor: string; requester_org: string; holder_org: string; patient: string; decision: 'permit' | 'deny' }>(
      `select * from ${this.s}.audit order by n`,
    );
    return r.rows.map((x) => ({ requestId: x.request_id, actor: x.actor, requesterOrg: x.requester_org, holderOrg: x.holder_org, patient: x.patient, decision: x.decision }));
  }

  /** The insider's edit of the log: deletes every entry involving `org` (its own clinic's traces). */
  async eraseAuditOf(org: string): Promise<number> {
    const r = await this.db.query(`delete from ${this.s}.audit where requester_org = $1 or holder_org = $1`, [org]);
    return r.affectedRows ?? 0;
  }

  /**
   * The EHR's integrity check of one record: the row exists, its checksum matches its content, and it is the
   * latest version the history holds, written through the application. False means tampering was detected.
   */
  async check(rid: string): Promise<boolean> {
    const row = (
      await this.db.query<{ version: number; sum: string; actual: string }>(
        `select version, sum, encode(sha256(convert_to(body::text, 'UTF8')), 'hex') as actual from ${this.s}.records where rid = $1`,
        [rid],
      )
    ).rows[0];
    const last = (
      await this.db.query<{ version: number; sum: string; actor: string }>(`select version, sum, actor from ${this.s}.history where rid = $1 order by n desc limit 1`, [rid])
    ).rows[0];
    if (last === undefined) return row === undefined;
    if (row === undefined) return false;
    return row.sum === row.actual && row.version === last.version && row.sum === last.sum && last.actor !== '';
  }

  /**
   * Tampers with record `rid` as a database administrator would for `kind` (see TAMPER_KINDS), and returns
   * the undo. `other` is another record whose content `substitute` moves in. `rollback` needs an older
   * version in the history (the caller updates the record through the application first).
   */
  async tamper(kind: TamperKind, rid: string, other: string): Promise<() => Promise<void>> {
    const s = this.s;
    const saved = await this.db.query<Record<string, unknown>>(`select * from ${s}.records where rid = $1`, [rid]);
    const savedHistory = await this.db.query<Record<string, unknown>>(`select * from ${s}.history where rid = $1 order by n`, [rid]);
    const row = saved.rows[0]!;
    const undo = async (): Promise<void> => {
      await this.untriggered(async (tx) => {
        await tx.query(`delete from ${s}.records where rid = $1`, [rid]);
        await tx.query(`insert into ${s}.records(rid, patient, org, rtype, version, body, sum) values ($1, $2, $3, $4, $5, $6, $7)`, [
          row.rid,
          row.patient,
          row.org,
          row.rtype,
          row.version,
          row.body,
          row.sum,
        ]);
        await tx.query(`delete from ${s}.history where rid = $1`, [rid]);
        for (const h of savedHistory.rows)
          await tx.query(`insert into ${s}.history(n, rid, version, sum, actor) values ($1, $2, $3, $4, $5)`, [h.n, h.rid, h.version, h.sum, h.actor]);
      });
    };
    const edited = `jsonb_set(body, '{meta}', coalesce(body->'meta', '{}'::jsonb) || '{"versionId":"forged"}'::jsonb)`;
    const sumOf = `encode(sha256(convert_to(body::text, 'UTF8')), 'hex')`;
    switch (kind) {
      case 'flip-bytes':
        // Below the application: the stored content changes, nothing else does.
        await this.untriggered((tx) => tx.query(`update ${s}.records set body = ${edited} where rid = $1`, [rid]));
        break;
      case 'edit':
        // Plain SQL: the trigger fires, but no application user is set.
        await this.db.query(`update ${s}.records set body = ${edited} where rid = $1`, [rid]);
        break;
      case 'edit-and-cover':
        await this.untriggered(async (tx) => {
          await tx.query(`update ${s}.records set body = ${edited} where rid = $1`, [rid]);
          await tx.query(`update ${s}.records set sum = ${sumOf} where rid = $1`, [rid]);
          await tx.query(`update ${s}.history set sum = (select sum from ${s}.records where rid = $1) where n = (select max(n) from ${s}.history where rid = $1)`, [rid]);
        });
        break;
      case 'rollback':
      case 'rollback-and-cover': {
        const first = savedHistory.rows[0]!;
        const old = (await this.db.query<{ body: unknown }>(`select body from ${s}.history_bodies where rid = $1 and version = $2`, [rid, first.version])).rows[0];
        if (old === undefined) throw new RangeError('rollback needs an older version');
        await this.untriggered(async (tx) => {
          await tx.query(`update ${s}.records set body = $2, version = $3, sum = $4 where rid = $1`, [rid, old.body, first.version, first.sum]);
          if (kind === 'rollback-and-cover') await tx.query(`delete from ${s}.history where rid = $1 and version > $2`, [rid, first.version]);
        });
        break;
      }
      case 'substitute':
        await this.untriggered((tx) => tx.query(`update ${s}.records set body = o.body, sum = o.sum from ${s}.records o where ${s}.records.rid = $1 and o.rid = $2`, [rid, other]));
        break;
      case 'delete':
        await this.db.query(`delete from ${s}.records where rid = $1`, [rid]);
        break;
      case 'delete-and-cover':
        await this.db.query(`delete from ${s}.records where rid = $1`, [rid]);
        await this.db.query(`delete from ${s}.history where rid = $1`, [rid]);
        break;
    }
    return undo;
  }

  /** Keeps a copy of each version's content (the EHR's version history, as FHIR servers keep `_history`). */
  private async keepVersions(): Promise<void> {
    const s = this.s;
    await this.db.exec(`
      create table ${s}.history_bodies (rid text not null, version int not null, body jsonb not null, primary key (rid, version));
      create function ${s}.keep() returns trigger as $$
      begin
        insert into ${s}.history_bodies(rid, version, body) values (new.rid, new.version, new.body) on conflict do nothing;
        return new;
      end $$ language plpgsql;
      create trigger keep after insert or update on ${s}.records for each row execute function ${s}.keep();
    `);
  }

  /** Runs `fn` with triggers off (session_replication_role = replica), as an administrator can. */
  private async untriggered(fn: (tx: Transaction) => Promise<unknown>): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`set local session_replication_role = replica`);
      await fn(tx);
    });
  }
}
