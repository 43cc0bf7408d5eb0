import { join } from 'node:path';

import { openSqliteStore } from '../../runtime/drp/sqlite-store.js';
import { engineActions, type ExpectedRun } from './engine-actions.js';
import { allInstances } from './paged.js';
import { check, fmt, medianRounds, within, type PairedRates } from './stats.js';
import {
  NESTED_RUN,
  STEPS_RUN,
  type WorkflowFixtures,
} from './workflow-fixtures.js';

export interface StepRoundsOptions {
  workDir: string;
  fixtures: WorkflowFixtures;
  rounds: number;
  run: { actions: number; warmUp: number; inFlight: number };
  /** One engine run that takes longer fails the benchmark. */
  deadlineMs: number;
}

/**
 * The ten-step workflow, then the same ten steps as nested actions, each
 * on an engine and SQLite store of its own, alternating over `rounds`:
 * `first` is workflow instances per second, `second` nested runs.
 */
export function stepRounds(options: StepRoundsOptions): Promise<PairedRates> {
  return medianRounds(options.rounds, async (round) => {
    const workflow = await measure(options, round, STEPS_RUN);
    const saves = await checkInstances(options, round);
    const nested = await measure(options, round, NESTED_RUN);
    console.log(
      `round ${round}: workflow ${fmt(workflow)} instances/s (all done, ` +
        `${saves.toFixed(1)} saves each), nested actions ${fmt(nested)} ` +
        `runs/s, ratio ${(workflow / nested).toFixed(3)}`,
    );
    return { first: workflow, second: nested };
  });
}

function dataDir(options: StepRoundsOptions, round: number, action: string) {
  return join(options.workDir, `${action}-${round}`);
}

async function measure(
  options: StepRoundsOptions,
  round: number,
  expect: ExpectedRun,
): Promise<number> {
  const result = await within(
    options.deadlineMs,
    `round ${round} of ${expect.action}`,
    engineActions({
      workDir: dataDir(options, round, expect.action),
      ...options.run,
      engine: options.fixtures,
      expect,
    }),
  );
  return result.actionsPerSec;
}

/**
 * Every instance's last saved record says it ended done, in `end`;
 * resolves with how many saves an instance took on average.
 */
async function checkInstances(
  options: StepRoundsOptions,
  round: number,
): Promise<number> {
  const dir = dataDir(options, round, STEPS_RUN.action);
  const store = openSqliteStore({ path: join(dir, 'data', 'wfe.db') });
  try {
    const expected = options.run.warmUp + options.run.actions;
    let all = 0;
    let ended = 0;
    let saves = 0;
    for await (const { record, version } of allInstances(store)) {
      all++;
      saves += version;
      if (record.status === 'done' && record.states.join() === 'end') ended++;
    }
    check(
      all === expected && ended === expected,
      `round ${round}: ${all} instance records, ${ended} of them done in ` +
        `'end', after ${expected} runs`,
    );
    return saves / all;
  } finally {
    await store.close();
  }
}
