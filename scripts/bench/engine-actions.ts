import { join } from 'node:path';

import {
  createEngine,
  type Engine,
  type EngineOptions,
} from '../../runtime/engine.js';
import { silentLogger } from '../../runtime/log.js';
import type { MailboxStats } from '../../runtime/mailbox.js';
import { check, inWindow, ratePerSec } from './stats.js';
import { writeFiles } from './write-files.js';

export interface EngineActionsResult {
  actionsPerSec: number;
  mailboxes: MailboxStats[];
}

/** An action to run and the result each of its jobs must end with. */
export interface ExpectedRun {
  action: string;
  result: unknown;
}

const NOOP: ExpectedRun = { action: 'bench.noop', result: 1 };

/**
 * A tasklet root with one RO action, `bench.noop`, that returns 1, and
 * `more` files (path below the root -> content).
 */
export function noopRoot(
  dir: string,
  more: Record<string, string> = {},
): Promise<string> {
  return writeFiles(dir, {
    'rootobject/bench/noop/main.mjs': 'export function main() { return 1 }\n',
    ...more,
  });
}

/** Runs `total` actions, keeping `inFlight` going; checks each one. */
export async function runActions(
  engine: Engine,
  total: number,
  inFlight: number,
  expect: ExpectedRun,
): Promise<void> {
  let done = 0;
  await inWindow(total, inFlight, async () => {
    const job = await engine.run({ action: expect.action });
    check(
      job.status === 'done' && job.result === expect.result,
      `job ${job.id} ended ${job.status} with ` +
        JSON.stringify(job.error ?? job.result),
    );
    done++;
  });

  check(done === total, `${done} of ${total} ${expect.action} ended done`);
}

/**
 * End to end: submit, run the tasklet chain, record. The DRP is SQLite
 * unless `engine` picks another store (`mongodb`). The action is
 * `bench.noop` unless `expect` names another.
 */
export async function engineActions(options: {
  workDir: string;
  actions: number;
  warmUp: number;
  inFlight: number;
  engine?: Partial<EngineOptions>;
  expect?: ExpectedRun;
}): Promise<EngineActionsResult> {
  const expect = options.expect ?? NOOP;
  const taskletRoots = options.engine?.taskletRoots ?? [
    await noopRoot(join(options.workDir, 'tasklets')),
  ];
  const engine = await createEngine({
    dataDir: join(options.workDir, 'data'),
    logger: silentLogger(),
    ...options.engine,
    taskletRoots,
  });

  try {
    await runActions(engine, options.warmUp, options.inFlight, expect);
    const actionsPerSec = await ratePerSec(options.actions, () =>
      runActions(engine, options.actions, options.inFlight, expect),
    );
    return { actionsPerSec, mailboxes: engine.mailboxes() };
  } finally {
    await engine.stop();
  }
}
