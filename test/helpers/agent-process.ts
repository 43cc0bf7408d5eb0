import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Test } from 'tap';

import { AGENT_READY_LINE } from '../../runtime/cli/agent.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AGENT_PASSWORD = 'secret-pass';

/** `wfe agent` as a real process, resolved once it is online. */
export async function startAgentProcess(
  t: Test,
  url: string,
  name: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'wfe.js'), 'agent'],
    {
      env: {
        ...process.env,
        WFE_AGENT_XMPP_URL: url,
        WFE_AGENT_JID: `${name}@localhost`,
        WFE_AGENT_PASSWORD: AGENT_PASSWORD,
        WFE_AGENT_CONTROLLER: 'wfe@localhost',
        WFE_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes(AGENT_READY_LINE)) resolve();
    });
    child.on('exit', (code) =>
      reject(new Error(`wfe agent exited with ${code}: ${stderr}`)),
    );
  });
  return child;
}
