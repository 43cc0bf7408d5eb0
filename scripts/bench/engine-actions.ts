import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  createEngine,
  type Engine,
  type EngineOptions,
} from '../../runtime/engine.js';
import { silentLogger } from '../../runtime/log.js';
import type { MailboxStats } from '../../runtime/mailbox.js';
import { check, ratePerSec } from './stats.js';

export interface EngineActionsResult {
  actionsPerSec: number;
  mailboxes: MailboxStats[];
}

/** A tasklet root with one RO action, `bench.noop`, that does nothing. */
async function noopRoot(dir: string): Promise<string> {
  const actionDir = join(dir, 'rootobject', 'bench', 'noop');
  await mkdir(actionDir, { recursive: true });
  await writeFile(
    join(actionDir, 'main.mjs'),
    'export function main() { return 1 }\n',
  );
  return dir;
}

/** Runs `total` no-op actions, keeping `inFlight` going; checks each one. */
async function runActions(
  engine: Engine,
  total: number,
  inFlight: number,
): Promise<void> {
  let started = 0;
  let done = 0;

  const lane = async (): Promise<void> => {
    while (started < total) {
      started++;
      const job = await engine.run({ action: 'bench.noop' });
      check(
        job.status === 'done' && job.result === 1,
        `job ${job.id} ended ${job.status} with ${JSON.stringify(job.error)}`,
      );
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));

  check(done === total, `${done} of ${total} actions ended done`);
}

/**
 * End to end: submit, run the tasklet chain, record. The DRP is SQLite
 * unless `engine` picks another store (`mongodb`).
 */
export async function engineActions(options: {
  workDir: string;
  actions: number;
  warmUp: number;
  inFlight: number;
  engine?: Partial<EngineOptions>;
}): Promise<EngineActionsResult> {
  const root = await noopRoot(join(options.workDir, 'tasklets'));
  const engine = await createEngine({
    taskletRoots: [root],
    dataDir: join(options.workDir, 'data'),
    logger: silentLogger(),
    ...options.engine,
  });

  try {
    await runActions(engine, options.warmUp, options.inFlight);
    const actionsPerSec = await ratePerSec(options.actions, () =>
      runActions(engine, options.actions, options.inFlight),
    );
    return { actionsPerSec, mailboxes: engine.mailboxes() };
  } finally {
    await engine.stop();
  }
}
