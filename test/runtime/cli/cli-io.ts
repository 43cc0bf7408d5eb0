import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

import { main } from '../../../runtime/cli/main.js';
import type { CliIo } from '../../../runtime/cli/io.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wfe` in-process with captured output and a clean environment. */
export async function wfe(
  argv: string[],
  options: Partial<CliIo> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: {},
    cwd: os.tmpdir(),
    ...options,
  });
  return { code, stdout, stderr };
}

/**
 * A temporary folder for one test. The example rscripts run with this
 * process's environment, so WFE_VM_ROOT is pointed into it as well.
 */
export async function workspace(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wfe-cli-'));
  const previous = process.env.WFE_VM_ROOT;
  process.env.WFE_VM_ROOT = path.join(dir, 'vms');
  t.teardown(async () => {
    if (previous === undefined) delete process.env.WFE_VM_ROOT;
    else process.env.WFE_VM_ROOT = previous;
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A host name no other test run uses. */
export function uniqueName(prefix = 'vm'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}
