import { access, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { launch, waitReady } from '../services/child-process.js';
import type { HolderReport, HolderTask } from './workflow-holder.js';

const HOLDER = fileURLToPath(new URL('./workflow-holder.js', import.meta.url));

export interface Holder {
  report: HolderReport;
  /** SIGKILL: the engine holding the instances dies, no clean-up. */
  kill(): Promise<void>;
}

/**
 * Starts a process of its own that submits `task.count` instances
 * waiting for an event and holds them; resolves with its report once
 * all of them wait. The process runs with --expose-gc, so that its
 * memory is read after a full collection.
 */
export async function holdWaiting(
  task: HolderTask,
  deadlineMs: number,
): Promise<Holder> {
  const child = await launch(process.execPath, [
    '--expose-gc',
    HOLDER,
    JSON.stringify(task),
  ]);
  const written = () =>
    access(task.reportFile).then(
      () => true,
      () => false,
    );
  await waitReady(
    `the process holding ${task.count} waiting instances`,
    child.process,
    written,
    child.stderr,
    deadlineMs,
  );
  const report = JSON.parse(
    await readFile(task.reportFile, 'utf8'),
  ) as HolderReport;

  return {
    report,
    kill: async () => {
      const exited = new Promise((resolve) =>
        child.process.once('exit', resolve),
      );
      child.process.kill('SIGKILL');
      await exited;
    },
  };
}
