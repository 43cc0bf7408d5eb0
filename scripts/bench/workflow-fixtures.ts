/**
 * What the workflow benchmark runs: a ten-step workflow and the same ten
 * steps as nested actions, both over `bench.noop` (which returns 1), and
 * a workflow that waits for an event named `go`.
 */
import { join } from 'node:path';

import { noopRoot, type ExpectedRun } from './engine-actions.js';
import { writeFiles } from './write-files.js';

export const STEPS = 10;

/** Ten task states in sequence, then a final state adding their results. */
export const STEPS_RUN: ExpectedRun = { action: 'bench.steps', result: STEPS };

/** One action calling `bench.noop` ten times in sequence. */
export const NESTED_RUN: ExpectedRun = {
  action: 'bench.nested',
  result: STEPS,
};

/** Starts waiting for `go`, then ends with its `params.i`. */
export const WAIT_ACTION = 'bench.wait';
export const WAIT_STATE = 'waiting';
export const GO_EVENT = 'go';

const steps = Array.from({ length: STEPS }, (_, i) => `s${i + 1}`);
const SUM = steps.map((name) => `ctx.${name}`).join(' + ');

const STEPS_YAML = [
  'name: bench-steps',
  'version: 1',
  `implements: ${STEPS_RUN.action}`,
  'initial: s1',
  'states:',
  ...steps.map(
    (name, i) =>
      `  ${name}: { action: bench.noop, output: ${name}, ` +
      `next: ${steps[i + 1] ?? 'end'} }`,
  ),
  `  end: { final: true, result: "${SUM}" }`,
  '',
].join('\n');

const WAIT_YAML = [
  'name: bench-wait',
  'version: 1',
  `implements: ${WAIT_ACTION}`,
  `initial: ${WAIT_STATE}`,
  'states:',
  `  ${WAIT_STATE}: { on: { ${GO_EVENT}: end } }`,
  '  end: { final: true, result: params.i }',
  '',
].join('\n');

const NESTED_MJS = `export async function main(ctx) {
  let sum = 0;
  for (let i = 0; i < ${STEPS}; i++) sum += await ctx.actions.run('bench.noop');
  return sum;
}
`;

export interface WorkflowFixtures {
  taskletRoots: string[];
  workflowRoots: string[];
}

/** Writes the tasklets and workflows below `dir`. */
export async function workflowFixtures(dir: string): Promise<WorkflowFixtures> {
  const tasklets = await noopRoot(join(dir, 'tasklets'), {
    'rootobject/bench/nested/main.mjs': NESTED_MJS,
  });
  const workflows = await writeFiles(join(dir, 'workflows'), {
    'steps.yaml': STEPS_YAML,
    'wait.yaml': WAIT_YAML,
  });
  return { taskletRoots: [tasklets], workflowRoots: [workflows] };
}
