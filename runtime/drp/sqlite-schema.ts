import type Database from 'better-sqlite3';

import { WfeError } from '../errors.js';

/** Highest schema version this code knows; kept in `PRAGMA user_version`. */
export const SQLITE_SCHEMA_VERSION = 2;

// MIGRATIONS[n] takes the schema from version n to n + 1.
const MIGRATIONS = [
  `
  CREATE TABLE objects (
    guid TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX objects_type_guid ON objects (type, guid);

  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    root_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT,
    error TEXT,
    max_duration_ms INTEGER,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER
  );
  CREATE INDEX jobs_status_id ON jobs (status, id);
  CREATE INDEX jobs_action_id ON jobs (action, id);
  CREATE INDEX jobs_parent_id ON jobs (parent_id, id);
  CREATE INDEX jobs_root_id ON jobs (root_id, id);

  CREATE TABLE job_logs (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;
  `,
  // A NULL key is no key: any number of jobs may have none.
  `
  ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
  ALTER TABLE jobs ADD COLUMN owner TEXT;
  CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
  CREATE INDEX jobs_owner_status_id ON jobs (owner, status, id);
  `,
];

/**
 * Brings the schema up to `target` (tests pass a lower one to build an old
 * database), one transaction per version.
 */
export function migrate(
  db: Database.Database,
  target = SQLITE_SCHEMA_VERSION,
): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_SCHEMA_VERSION) {
    throw new WfeError(
      'STORE_ERROR',
      `SQLite schema version ${current} is newer than this wfe ` +
        `understands (${SQLITE_SCHEMA_VERSION})`,
      { details: { schemaVersion: current } },
    );
  }

  for (let version = current; version < target; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
