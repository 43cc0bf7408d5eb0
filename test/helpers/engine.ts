import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import type { Test } from 'tap';

import {
  createEngine,
  type Engine,
  type EngineOptions,
} from '../../runtime/engine.js';
import { silentLogger } from '../../runtime/log.js';

export interface TestEngine {
  engine: Engine;
  dir: string;
  tasklets: string;
}

/** Writes files (path -> content) below `root`. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content, { mode: 0o755 });
  }
}

/** An engine on a fresh data folder with the given tasklet files. */
export async function testEngine(
  t: Test,
  files: Record<string, string>,
  options: Partial<EngineOptions> = {},
): Promise<TestEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'wfe-test-'));
  const tasklets = join(dir, 'tasklets');
  mkdirSync(tasklets);
  writeTree(tasklets, files);

  const engine = await createEngine({
    taskletRoots: [tasklets],
    dataDir: join(dir, 'data'),
    logger: silentLogger(),
    ...options,
  });
  t.teardown(async () => {
    await engine.stop({ graceMs: 100 });
    rmSync(dir, { recursive: true, force: true });
  });
  return { engine, dir, tasklets };
}
