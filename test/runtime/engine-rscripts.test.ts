import t from 'tap';

import { testEngine } from '../helpers/engine.js';

const HV = 'actor/hv';

function tasklet(script: string, options = '{}') {
  return `
    export async function main(ctx) {
      return ctx.agents.run('local', '${script}', ${options});
    }`;
}

t.test('engine - rscripts run as child jobs with their output', async (t) => {
  const { engine } = await testEngine(t, {
    [`${HV}/ok/main.mjs`]: tasklet('../rscripts/ok.sh', '{ params: { n: 7 } }'),
    [`${HV}/rscripts/ok.sh`]: `#!/bin/sh
      echo "got $WFE_PARAMS"
      echo '{"double":14}' > "$WFE_RESULT_FILE"`,
  });

  const job = await engine.run({ action: 'hv.ok' });
  const [, script] = await engine.store.jobTree(job.id);
  const logs = await engine.store.jobLogs(script!.id);

  t.match(job.result, {
    exitCode: 0,
    stdout: 'got {"n":7}\n',
    result: { double: 14 },
  });
  t.equal(script?.action, 'rscript:ok.sh');
  t.equal(script?.status, 'done');
  t.match(logs[0], { message: 'got {"n":7}\n', data: { stream: 'stdout' } });
});

t.test('engine - rscript failures are structured errors', async (t) => {
  const { engine } = await testEngine(t, {
    [`${HV}/fail/main.mjs`]: tasklet('../rscripts/fail.sh'),
    [`${HV}/tolerate/main.mjs`]: tasklet(
      '../rscripts/fail.sh',
      '{ allowFailure: true }',
    ),
    [`${HV}/hang/main.mjs`]: tasklet(
      '../rscripts/hang.sh',
      '{ timeoutMs: 300 }',
    ),
    [`${HV}/flood/main.mjs`]: tasklet('../rscripts/flood.sh'),
    [`${HV}/remote/main.mjs`]: `
      export function main(ctx) { return ctx.agents.run('node7', '../rscripts/fail.sh'); }`,
    [`${HV}/rscripts/fail.sh`]: '#!/bin/sh\necho "disk full" >&2\nexit 4\n',
    [`${HV}/rscripts/hang.sh`]: '#!/bin/sh\nsleep 30\n',
    [`${HV}/rscripts/flood.sh`]:
      '#!/bin/sh\nhead -c 10485760 /dev/zero | tr "\\\\0" x\n',
  });

  const fail = await engine.run({ action: 'hv.fail' });
  const tolerate = await engine.run({ action: 'hv.tolerate' });
  const hang = await engine.run({ action: 'hv.hang' });
  const flood = await engine.run({ action: 'hv.flood' });
  const remote = await engine.run({ action: 'hv.remote' });

  t.match(fail.error, {
    code: 'SCRIPT_FAILED',
    details: { exitCode: 4 },
  });
  t.match(JSON.stringify(fail.error), /disk full/);
  t.match(tolerate.result, { exitCode: 4, stderr: 'disk full\n' });
  t.match(hang.error, { code: 'SCRIPT_TIMEOUT', retryable: true });
  t.equal(flood.status, 'done');
  const stdout = (flood.result as { stdout: string }).stdout;
  t.ok(stdout.length < 1.1 * 1024 * 1024, 'output is capped');
  t.match(stdout, /\[wfe: stdout truncated, 9437184 bytes dropped\]/);
  t.match(remote.error, { code: 'AGENT_UNAVAILABLE' });
});
