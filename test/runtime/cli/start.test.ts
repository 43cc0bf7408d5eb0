import path from 'node:path';
import t from 'tap';

import { main } from '../../../runtime/cli/main.js';
import { READY_LINE } from '../../../runtime/cli/start.js';
import { wfe, workspace } from './cli-io.js';

t.test(
  'start - prints how to submit work, then stops on request',
  async (t) => {
    const dir = await workspace(t);
    const data = path.join(dir, 'data');
    const stop = new AbortController();
    let stdout = '';
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));

    const exit = main(['start', '--data', data], {
      stdout: (text) => {
        stdout += text;
        if (stdout.includes(READY_LINE)) ready();
      },
      stderr: () => {},
      env: { WFE_LOG_LEVEL: 'silent' },
      stopSignal: stop.signal,
    });
    await isReady;
    stop.abort();

    t.equal(await exit, 0);
    t.match(stdout, `  data      ${data}\n`);
    t.match(stdout, /actions {3}hypervisor\.startVm, .*machine\.create/);
    t.match(stdout, /comes with NATS/);
    t.match(
      stdout,
      `wfe run machine.create --params '{"name":"web1"}' --data `,
    );
    t.match(stdout, `wfe jobs --data ${data}\n`);
    t.match(
      stdout,
      /wfe start: stop requested, stopping\nwfe start: stopped\n$/,
    );

    const jobs = await wfe(['jobs', '--data', data]);
    t.equal(jobs.code, 0, 'the store exists and is readable after a stop');
  },
);

t.test('start - an already aborted stop signal stops right away', async (t) => {
  const dir = await workspace(t);
  const stop = new AbortController();
  stop.abort();

  const result = await wfe(['start', '--tasklets', dir], {
    env: { WFE_DATA_DIR: path.join(dir, 'data'), WFE_LOG_LEVEL: 'silent' },
    stopSignal: stop.signal,
  });

  t.equal(result.code, 0);
  t.match(result.stdout, /actions {3}\(none\)\n/);
  t.match(result.stdout, /wfe run <action> --params '\{\}'/);
});
