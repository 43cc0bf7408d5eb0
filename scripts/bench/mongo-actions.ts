import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

import type { MongoClient } from 'mongodb';

import { engineActions } from './engine-actions.js';
import { check, fmt, medianRounds, within } from './stats.js';

export interface ActionRoundsResult {
  mongoPerSec: number;
  sqlitePerSec: number;
  /** The median of the rounds' mongo / sqlite ratios. */
  ratio: number;
}

export interface ActionRoundsOptions {
  client: MongoClient;
  url: string;
  freshDatabase: () => string;
  rounds: number;
  run: { actions: number; warmUp: number; inFlight: number };
  /** One engine run that takes longer fails the benchmark. */
  deadlineMs: number;
}

/**
 * No-op actions end to end with the DRP in MongoDB, then in SQLite,
 * alternating over `rounds`; the median round is the figure, since on a
 * shared machine either run can catch a slow second.
 */
export async function actionRounds(
  options: ActionRoundsOptions,
): Promise<ActionRoundsResult> {
  const workDir = await mkdtemp(join(os.tmpdir(), 'wfe-bench-mongo-'));
  try {
    return await alternate(options, workDir);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function alternate(
  options: ActionRoundsOptions,
  workDir: string,
): Promise<ActionRoundsResult> {
  const rates = await medianRounds(options.rounds, async (round) => {
    const mongo = await within(
      options.deadlineMs,
      `round ${round} with MongoDB`,
      mongoActions(options, join(workDir, `mongo-${round}`)),
    );
    const sqlite = await within(
      options.deadlineMs,
      `round ${round} with SQLite`,
      engineActions({
        workDir: join(workDir, `sqlite-${round}`),
        ...options.run,
      }),
    );

    const sqlitePerSec = sqlite.actionsPerSec;
    console.log(
      `round ${round}: mongodb ${fmt(mongo.actionsPerSec)} actions/s ` +
        `(${fmt(mongo.jobsDone)} jobs done in its database), sqlite ` +
        `${fmt(sqlitePerSec)} actions/s, ratio ` +
        `${(mongo.actionsPerSec / sqlitePerSec).toFixed(3)}`,
    );
    return { first: mongo.actionsPerSec, second: sqlitePerSec };
  });

  return {
    mongoPerSec: rates.first,
    sqlitePerSec: rates.second,
    ratio: rates.ratio,
  };
}

/**
 * One run on a fresh database, checked afterwards to hold exactly the
 * jobs run, all done, then dropped.
 */
async function mongoActions(
  options: ActionRoundsOptions,
  workDir: string,
): Promise<{ actionsPerSec: number; jobsDone: number }> {
  const db = options.client.db(options.freshDatabase());
  const result = await engineActions({
    workDir,
    ...options.run,
    engine: { mongodb: { url: options.url, database: db.databaseName } },
  });

  const expected = options.run.warmUp + options.run.actions;
  const jobs = db.collection('jobs');
  const [done, all] = await Promise.all([
    jobs.countDocuments({ status: 'done', action: 'bench.noop' }),
    jobs.countDocuments(),
  ]);
  check(
    done === expected && all === expected,
    `${db.databaseName} holds ${all} jobs, ${done} of them done, ` +
      `after ${expected} actions`,
  );
  await db.dropDatabase();
  return { actionsPerSec: result.actionsPerSec, jobsDone: done };
}
