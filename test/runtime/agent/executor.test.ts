import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';

import {
  outcomeError,
  runScript,
  type ScriptOutcome,
} from '../../../runtime/agent/executor.js';
import { WfeError } from '../../../runtime/errors.js';

const PARAMS = { name: 'vm1', sizes: [1, 2], nested: { ok: true } };

const SHELL_ECHO = [
  'echo "env=$WFE_PARAMS"',
  'echo "file=$(cat "$WFE_PARAMS_FILE")"',
  'echo "stdin=$(cat)"',
].join('\n');

const PYTHON_ECHO = [
  'import os, sys',
  'print("env=" + os.environ["WFE_PARAMS"])',
  'print("file=" + open(os.environ["WFE_PARAMS_FILE"]).read())',
  'print("stdin=" + sys.stdin.read())',
].join('\n');

const NODE_ECHO_LINES = [
  "console.log('env=' + process.env.WFE_PARAMS);",
  "console.log('file=' + readFileSync(process.env.WFE_PARAMS_FILE, 'utf8'));",
  "console.log('stdin=' + readFileSync(0, 'utf8'));",
];
const NODE_ESM_ECHO = [
  "import { readFileSync } from 'node:fs';",
  ...NODE_ECHO_LINES,
].join('\n');
const NODE_CJS_ECHO = [
  "const { readFileSync } = require('node:fs');",
  ...NODE_ECHO_LINES,
].join('\n');

// Starts `sleep 300` in the background, records its pid, then waits.
const TREE = [
  'sleep 300 &',
  'echo $! > "$PID_FILE"',
  'echo ready',
  'wait',
].join('\n');

// Parses the "channel=json" lines the echo fixtures print.
function seenParams(stdout: string): Record<string, unknown> {
  const seen: Record<string, unknown> = {};
  for (const line of stdout.split('\n').filter(Boolean)) {
    const at = line.indexOf('=');
    seen[line.slice(0, at)] = JSON.parse(line.slice(at + 1));
  }
  return seen;
}

// Dead means no such process, or a zombie: init in this sandbox does not
// reap orphans, so a killed grandchild can linger as a zombie there.
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitUntilGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (processGone(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

function readPid(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function rejectsWithCode(
  t: Test,
  promise: Promise<unknown>,
  code: string,
): Promise<WfeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, WfeError);
  t.equal((err as WfeError).code, code);
  return err as WfeError;
}

function outcome(overrides: Partial<ScriptOutcome>): ScriptOutcome {
  return {
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    result: null,
    resultError: null,
    durationMs: 12,
    timedOut: false,
    cancelled: false,
    truncated: { stdout: false, stderr: false },
    ...overrides,
  };
}

t.test('executor - every language runs and sees its params', async (t) => {
  const dir = t.testdir({
    'echo.sh': SHELL_ECHO,
    'echo.bash': SHELL_ECHO + '\necho "bash=\\"$BASH_VERSION\\""',
    'echo.py': PYTHON_ECHO,
    'echo.mjs': NODE_ESM_ECHO,
    'echo.js': NODE_ESM_ECHO,
    'echo.cjs': NODE_CJS_ECHO,
  });

  for (const name of ['sh', 'bash', 'py', 'mjs', 'js', 'cjs']) {
    const run = await runScript({
      file: join(dir, `echo.${name}`),
      params: PARAMS,
    });
    t.equal(run.exitCode, 0, `${name} exit code`);
    t.equal(run.stderr, '', `${name} stderr`);
    const seen = seenParams(run.stdout);
    for (const channel of ['env', 'file', 'stdin']) {
      t.same(seen[channel], PARAMS, `${name} params via ${channel}`);
    }
    if (name === 'bash') t.type(seen.bash, 'string', 'ran under bash');
  }
});

t.test('executor - inline sources run in each language', async (t) => {
  const sources = {
    sh: SHELL_ECHO,
    bash: SHELL_ECHO,
    python: PYTHON_ECHO,
    node: NODE_ESM_ECHO,
  };
  for (const [language, source] of Object.entries(sources)) {
    const run = await runScript({ source, language, params: PARAMS });
    t.equal(run.exitCode, 0, `${language} exit code`);
    t.same(seenParams(run.stdout).stdin, PARAMS, `${language} params`);
  }

  const cjs = await runScript({
    source: NODE_CJS_ECHO,
    language: 'node',
    params: PARAMS,
  });
  t.same(seenParams(cjs.stdout).file, PARAMS, 'CommonJS inline source');
});

t.test('executor - params default to an empty object', async (t) => {
  const run = await runScript({ source: SHELL_ECHO, language: 'sh' });
  t.same(seenParams(run.stdout), { env: {}, file: {}, stdin: {} });
});

t.test('executor - large params skip the environment', async (t) => {
  const params = { blob: 'x'.repeat(70 * 1024) };
  const source = [
    'echo "inline=${WFE_PARAMS:-none}"',
    'wc -c < "$WFE_PARAMS_FILE"',
    'cat | wc -c',
  ].join('\n');
  const run = await runScript({
    source,
    language: 'sh',
    params,
    env: { WFE_PARAMS: 'stale' },
  });
  const size = String(JSON.stringify(params).length);
  t.same(
    run.stdout.split('\n').map((line) => line.trim()),
    ['inline=none', size, size, ''],
  );
});

t.test('executor - a script that never reads stdin is fine', async (t) => {
  const params = { blob: 'y'.repeat(2 * 1024 * 1024) };
  const run = await runScript({ source: 'exit 0', language: 'sh', params });
  t.equal(run.exitCode, 0);
  t.equal(outcomeError(run), null);
});

t.test('executor - cwd and env reach the script', async (t) => {
  const dir = t.testdir({});
  const run = await runScript({
    source: 'pwd; echo "$GREETING"',
    language: 'sh',
    cwd: dir,
    env: { GREETING: 'hello' },
  });
  t.same(run.stdout.split('\n'), [dir, 'hello', '']);
});

t.test('executor - a non-zero exit is reported', async (t) => {
  const run = await runScript({
    source: 'echo partial; echo broken >&2; exit 3',
    language: 'sh',
  });
  t.equal(run.exitCode, 3);
  t.equal(run.signal, null);
  t.equal(run.timedOut, false);
  t.equal(run.cancelled, false);

  const err = outcomeError(run, { name: 'disk.check' });
  t.equal(err?.code, 'SCRIPT_FAILED');
  t.equal(err?.retryable, false);
  t.match(err?.message, /disk\.check exited with code 3/);
  t.match(err?.details, {
    exitCode: 3,
    signal: null,
    stdoutTail: 'partial\n',
    stderrTail: 'broken\n',
  });
  t.equal(outcomeError(run, { allowFailure: true }), null);
});

t.test('executor - stderr is captured apart from stdout', async (t) => {
  const run = await runScript({
    source: 'echo out1; echo err1 >&2; echo out2; echo err2 >&2',
    language: 'sh',
  });
  t.equal(run.stdout, 'out1\nout2\n');
  t.equal(run.stderr, 'err1\nerr2\n');
  t.same(run.truncated, { stdout: false, stderr: false });
});

t.test('executor - output arrives in order through onOutput', async (t) => {
  const seen: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  const source = [
    'i=1',
    'while [ $i -le 200 ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done',
  ].join('\n');
  const run = await runScript({
    source,
    language: 'sh',
    onOutput: (stream, chunk) => {
      seen[stream] += chunk;
    },
  });

  const expected = (prefix: string) =>
    Array.from({ length: 200 }, (_, i) => `${prefix} ${i + 1}\n`).join('');
  t.equal(seen.stdout, expected('line'));
  t.equal(seen.stderr, expected('err'));
  t.equal(run.stdout, seen.stdout);
  t.equal(run.stderr, seen.stderr);
});

t.test(
  'executor - a failing onOutput listener does not break the run',
  async (t) => {
    const run = await runScript({
      source: 'echo one; echo two',
      language: 'sh',
      onOutput: () => {
        throw new Error('listener broke');
      },
    });
    t.equal(run.exitCode, 0);
    t.equal(run.stdout, 'one\ntwo\n');
  },
);

t.test('executor - a JSON result is parsed', async (t) => {
  const dir = t.testdir({
    'result.py': [
      'import json, os',
      'params = json.load(open(os.environ["WFE_PARAMS_FILE"]))',
      'json.dump({"vm": params["name"], "ip": "10.0.0.7"},',
      '          open(os.environ["WFE_RESULT_FILE"], "w"))',
    ].join('\n'),
  });
  const run = await runScript({
    file: join(dir, 'result.py'),
    params: PARAMS,
  });
  t.same(run.result, { vm: 'vm1', ip: '10.0.0.7' });
  t.equal(run.resultError, null);
  t.equal(outcomeError(run), null);
});

t.test('executor - no result file, or an empty one, means null', async (t) => {
  const none = await runScript({ source: 'true', language: 'sh' });
  t.equal(none.result, null);
  t.equal(none.resultError, null);

  const empty = await runScript({
    source: ': > "$WFE_RESULT_FILE"',
    language: 'sh',
  });
  t.equal(empty.result, null);
  t.equal(empty.resultError, null);
});

t.test('executor - a bad JSON result is a clear error', async (t) => {
  const run = await runScript({
    source: 'echo "{not json" > "$WFE_RESULT_FILE"',
    language: 'sh',
  });
  t.equal(run.exitCode, 0);
  t.equal(run.result, null);
  t.match(run.resultError, /not valid JSON/);

  const err = outcomeError(run, { name: 'net.probe' });
  t.equal(err?.code, 'SCRIPT_BAD_RESULT');
  t.match(err?.message, /net\.probe/);
  t.match(err?.details, { resultError: /not valid JSON/ });
});

t.test('executor - an unreadable result is a clear error', async (t) => {
  const run = await runScript({
    source: 'mkdir "$WFE_RESULT_FILE"',
    language: 'sh',
  });
  t.equal(run.result, null);
  t.match(run.resultError, /cannot read result file/);
  t.equal(outcomeError(run)?.code, 'SCRIPT_BAD_RESULT');
});

t.test('executor - a huge result file is refused', async (t) => {
  const run = await runScript({
    source: 'truncate -s 17M "$WFE_RESULT_FILE"',
    language: 'sh',
  });
  t.match(run.resultError, /over the limit/);
});

t.test('executor - temp files are cleaned up', async (t) => {
  const ok = await runScript({
    source: 'echo "$WFE_PARAMS_FILE"',
    language: 'sh',
  });
  const paramsFile = ok.stdout.trim();
  t.match(paramsFile, /wfe-rscript-/);
  t.notOk(existsSync(paramsFile), 'params file removed');
  t.notOk(existsSync(join(paramsFile, '..')), 'work dir removed');

  const failed = await runScript({
    source: 'echo "$WFE_PARAMS_FILE"; exit 1',
    language: 'sh',
  });
  t.notOk(existsSync(join(failed.stdout.trim(), '..')), 'removed on failure');
});

t.test(
  'executor - 10 MB of output is capped with an exact count',
  async (t) => {
    const total = 10 * 1024 * 1024;
    const source = [
      "const chunk = Buffer.alloc(64 * 1024, 'x');",
      `for (let i = 0; i < ${total / (64 * 1024)}; i++) process.stdout.write(chunk);`,
      "process.stderr.write('done\\n');",
    ].join('\n');
    let delivered = 0;
    const run = await runScript({
      source,
      language: 'node',
      onOutput: (stream, chunk) => {
        if (stream === 'stdout') delivered += Buffer.byteLength(chunk);
      },
    });

    const cap = 1024 * 1024;
    t.equal(run.exitCode, 0);
    t.equal(run.stderr, 'done\n');
    t.same(run.truncated, { stdout: true, stderr: false });
    t.equal(delivered, cap, 'onOutput got only the kept bytes');
    t.equal(run.stdout.slice(0, cap), 'x'.repeat(cap));
    t.equal(
      run.stdout.slice(cap),
      `\n[wfe: stdout truncated, ${total - cap} bytes dropped]\n`,
    );
  },
);

t.test('executor - the cap does not split characters', async (t) => {
  const run = await runScript({
    source:
      "process.stdout.write('é'.repeat(10)); console.error('ü'.repeat(3));",
    language: 'node',
    maxOutputBytes: 9,
  });
  t.equal(run.stdout, 'éééé\n[wfe: stdout truncated, 12 bytes dropped]\n');
  t.equal(run.stderr, 'üüü\n');
});

t.test('executor - a timeout kills the whole process tree', async (t) => {
  const dir = t.testdir({});
  const pidFile = join(dir, 'pid');
  const run = await runScript({
    source: TREE,
    language: 'sh',
    env: { PID_FILE: pidFile },
    // Generous, so that a loaded machine still writes the pid file first.
    timeoutMs: 3000,
  });
  const grandchild = readPid(pidFile);
  t.teardown(() => killQuietly(grandchild));

  t.equal(run.timedOut, true);
  t.equal(run.cancelled, false);
  t.equal(run.exitCode, null);
  t.equal(run.signal, 'SIGTERM');
  t.equal(run.stdout, 'ready\n');
  t.ok(await waitUntilGone(grandchild), 'grandchild is gone');

  const err = outcomeError(run);
  t.equal(err?.code, 'SCRIPT_TIMEOUT');
  t.equal(err?.retryable, true);
});

t.test('executor - SIGKILL follows when SIGTERM is ignored', async (t) => {
  const dir = t.testdir({});
  const pidFile = join(dir, 'pid');
  const controller = new AbortController();
  const run = await runScript({
    source: "trap '' TERM\n" + TREE,
    language: 'sh',
    env: { PID_FILE: pidFile },
    signal: controller.signal,
    killGraceMs: 300,
    onOutput: (_stream, chunk) => {
      if (chunk.includes('ready')) controller.abort();
    },
  });
  const grandchild = readPid(pidFile);
  t.teardown(() => killQuietly(grandchild));

  t.equal(run.cancelled, true);
  t.equal(run.signal, 'SIGKILL');
  t.ok(await waitUntilGone(grandchild), 'grandchild is gone');
});

t.test('executor - cancellation kills the tree and says so', async (t) => {
  const dir = t.testdir({});
  const pidFile = join(dir, 'pid');
  const controller = new AbortController();
  const run = await runScript({
    source: TREE,
    language: 'sh',
    env: { PID_FILE: pidFile },
    signal: controller.signal,
    onOutput: (_stream, chunk) => {
      if (chunk.includes('ready')) controller.abort();
    },
  });
  const grandchild = readPid(pidFile);
  t.teardown(() => killQuietly(grandchild));

  t.equal(run.cancelled, true);
  t.equal(run.timedOut, false);
  t.equal(run.signal, 'SIGTERM');
  t.ok(await waitUntilGone(grandchild), 'grandchild is gone');

  const err = outcomeError(run, { allowFailure: true });
  t.equal(err?.code, 'SCRIPT_CANCELLED');
  t.equal(err?.retryable, false);
});

t.test('executor - an already aborted signal runs nothing', async (t) => {
  const dir = t.testdir({});
  const marker = join(dir, 'ran');
  const run = await runScript({
    source: `touch "${marker}"`,
    language: 'sh',
    signal: AbortSignal.abort(),
  });
  t.equal(run.cancelled, true);
  t.equal(run.exitCode, null);
  t.equal(run.signal, null);
  t.equal(run.stdout, '');
  t.notOk(existsSync(marker), 'script did not run');
  t.equal(outcomeError(run)?.code, 'SCRIPT_CANCELLED');
});

t.test(
  'executor - an abort after the script ended changes nothing',
  async (t) => {
    const controller = new AbortController();
    const run = await runScript({
      source: 'echo hi',
      language: 'sh',
      signal: controller.signal,
    });
    controller.abort();
    t.equal(run.cancelled, false);
    t.equal(run.exitCode, 0);
  },
);

t.test(
  'executor - background processes holding stdout do not hang it',
  async (t) => {
    const dir = t.testdir({});
    const pidFile = join(dir, 'pid');
    const run = await runScript({
      source: 'sleep 300 &\necho $! > "$PID_FILE"\necho started',
      language: 'sh',
      env: { PID_FILE: pidFile },
    });
    const daemon = readPid(pidFile);
    t.teardown(() => killQuietly(daemon));

    t.equal(run.exitCode, 0);
    t.equal(run.timedOut, false);
    t.equal(run.stdout, 'started\n');
    t.notOk(processGone(daemon), 'a normal exit leaves daemons alone');
  },
);

t.test('executor - a missing script file', async (t) => {
  const dir = t.testdir({ folder: {} });
  const missing = join(dir, 'nope.sh');
  const err = await rejectsWithCode(
    t,
    runScript({ file: missing }),
    'SCRIPT_NOT_FOUND',
  );
  t.match(err.message, missing);
  t.same(err.details, { file: missing });

  await rejectsWithCode(
    t,
    runScript({ file: join(dir, 'folder'), language: 'sh' }),
    'SCRIPT_NOT_FOUND',
  );
});

t.test('executor - an unknown language', async (t) => {
  const dir = t.testdir({ 'tool.rb': 'puts 1', 'tool.sh': 'echo 1' });
  await rejectsWithCode(
    t,
    runScript({ source: 'puts 1', language: 'ruby' }),
    'SCRIPT_BAD_LANGUAGE',
  );
  await rejectsWithCode(
    t,
    runScript({ file: join(dir, 'tool.sh'), language: 'toString' }),
    'SCRIPT_BAD_LANGUAGE',
  );
  const err = await rejectsWithCode(
    t,
    runScript({ file: join(dir, 'tool.rb') }),
    'SCRIPT_BAD_LANGUAGE',
  );
  t.match(err.details, { extension: '.rb' });
});

t.test('executor - a language given explicitly wins', async (t) => {
  const dir = t.testdir({ 'tool.txt': 'echo "$0"' });
  const run = await runScript({ file: join(dir, 'tool.txt'), language: 'sh' });
  t.equal(run.stdout.trim(), join(dir, 'tool.txt'));
});

t.test('executor - bad requests', async (t) => {
  const dir = t.testdir({ 'ok.sh': 'true' });
  const file = join(dir, 'ok.sh');
  const circular: Record<string, unknown> = {};
  circular.self = circular;

  const bad = [
    { file, source: 'true', language: 'sh' },
    {},
    { source: 'true' },
    { file: '' },
    { source: 42 as unknown as string, language: 'sh' },
    { file, timeoutMs: 0 },
    { file, timeoutMs: Number.NaN },
    { file, timeoutMs: 2 ** 31 },
    { file, killGraceMs: -1 },
    { file, maxOutputBytes: 1.5 },
    { file, maxOutputBytes: -1 },
    { file, params: circular },
  ];
  for (const request of bad) {
    await rejectsWithCode(t, runScript(request), 'SCRIPT_BAD_REQUEST');
  }
});

t.test('executor - a missing interpreter is a spawn error', async (t) => {
  const err = await rejectsWithCode(
    t,
    runScript({ source: 'true', language: 'bash', env: { PATH: '/nowhere' } }),
    'SCRIPT_SPAWN_FAILED',
  );
  t.match(err.details, { interpreter: 'bash' });
});

t.test('executor - a missing cwd is a spawn error', async (t) => {
  const dir = t.testdir({});
  const cwd = join(dir, 'absent');
  const err = await rejectsWithCode(
    t,
    runScript({ source: 'true', language: 'sh', cwd }),
    'SCRIPT_SPAWN_FAILED',
  );
  t.match(err.details, { cwd });
});

t.test(
  'executor - an environment spawn refuses is a spawn error',
  async (t) => {
    await rejectsWithCode(
      t,
      runScript({ source: 'true', language: 'sh', env: { BAD: 'a\0b' } }),
      'SCRIPT_SPAWN_FAILED',
    );
  },
);

t.test('executor - outcomeError maps each outcome', async (t) => {
  t.equal(outcomeError(outcome({})), null, 'success');

  const timeout = outcomeError(
    outcome({ timedOut: true, exitCode: null, signal: 'SIGTERM' }),
    { name: 'slow' },
  );
  t.equal(timeout?.code, 'SCRIPT_TIMEOUT');
  t.equal(timeout?.retryable, true);
  t.match(timeout?.message, /script slow timed out after 12 ms/);

  const cancelled = outcomeError(outcome({ cancelled: true, exitCode: null }));
  t.equal(cancelled?.code, 'SCRIPT_CANCELLED');

  const killed = outcomeError(outcome({ exitCode: null, signal: 'SIGSEGV' }));
  t.equal(killed?.code, 'SCRIPT_FAILED');
  t.match(killed?.message, /^script was killed by SIGSEGV/);
  t.match(killed?.details, { exitCode: null, signal: 'SIGSEGV' });

  const long = outcome({ exitCode: 1, stderr: 'e'.repeat(5000) + 'END' });
  const tail = (outcomeError(long)?.details as { stderrTail: string })
    .stderrTail;
  t.equal(tail.length, 2000, 'tails are bounded');
  t.ok(tail.endsWith('END'), 'tails keep the end');

  const badResult = outcome({ exitCode: 2, resultError: 'broken' });
  t.equal(outcomeError(badResult)?.code, 'SCRIPT_FAILED', 'failure first');
  t.equal(
    outcomeError(badResult, { allowFailure: true })?.code,
    'SCRIPT_BAD_RESULT',
  );

  const info = outcomeError(outcome({ exitCode: 4 }))?.toJSON();
  t.match(info, { code: 'SCRIPT_FAILED', retryable: false }, 'serialises');
});
