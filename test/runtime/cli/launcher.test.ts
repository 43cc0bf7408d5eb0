import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

import { READY_LINE } from '../../../runtime/cli/start.js';
import { workspace } from './cli-io.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const launcher = path.join(root, 'bin', 'wfe.js');
const built = path.join(root, 'dist', 'runtime', 'cli', 'main.js');
const run = promisify(execFile);

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(file).mtimeMs);
    }
  }
  return newest;
}

// The launcher runs the compiled CLI; build it when it is missing or older
// than the sources. Type errors elsewhere in the tree still emit files.
const sources = Math.max(
  ...['runtime', 'actors', 'machines']
    .map((dir) => path.join(root, dir))
    .filter((dir) => existsSync(dir))
    .map(newestSource),
);
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root }).catch(
    () => {},
  );
}

t.test('launcher - bin/wfe.js prints the version', async (t) => {
  const { stdout } = await run(process.execPath, [launcher, '--version']);
  t.match(stdout, /^\d+\.\d+\.\d+\n$/);
});

t.test('launcher - the exit code of a usage error is 2', async (t) => {
  const failed = await run(process.execPath, [launcher, 'frob']).then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  t.equal(failed?.code, 2);
  t.equal(failed?.stderr, "wfe: unknown command 'frob' (see wfe --help)\n");
});

t.test('launcher - wfe start runs until SIGTERM, then exits 0', async (t) => {
  const dir = await workspace(t);
  const child = spawn(
    process.execPath,
    [launcher, 'start', '--data', path.join(dir, 'data')],
    {
      env: {
        ...process.env,
        WFE_VM_ROOT: path.join(dir, 'vms'),
        WFE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => resolve(code)),
  );
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes(READY_LINE)) resolve();
    });
    void exited.then(() => resolve());
  });

  child.kill('SIGTERM');

  t.equal(await exited, 0, stderr);
  t.match(stdout, /received SIGTERM, stopping\nwfe start: stopped\n$/);
  t.equal(stderr, '', 'nothing above warn');
});

t.test('launcher - a reader that goes away ends output quietly', async (t) => {
  const child = spawn(process.execPath, [launcher, '--help'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Closed before the help is written: the write meets EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) =>
    child.on('exit', (exitCode) => resolve(exitCode)),
  );

  t.equal(code, 0, 'exits as if the output had been read');
  t.notMatch(stderr, /EPIPE/, 'no stack trace about the closed pipe');
});
