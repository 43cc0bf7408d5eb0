import { join } from 'node:path';

import t from 'tap';

import { startEngineProcess } from '../../helpers/engine-process.js';
import { wfe, workspace } from './cli-io.js';

t.test('wfe start serves the inspector and prints its address', async (t) => {
  const dir = await workspace(t);
  const engine = await startEngineProcess(t, [
    '--data',
    join(dir, 'data'),
    '--inspector-port',
    '0',
  ]);

  const line = /inspector http:\/\/127\.0\.0\.1:(\d+)\/\n/.exec(
    engine.stdout(),
  );
  t.ok(line, 'the ready text has the address');
  const overview: any = await (
    await fetch(`http://127.0.0.1:${line![1]}/api/overview`)
  ).json();
  t.equal(overview.engine.role, 'all');
  t.equal(await engine.stop(), 0);
});

t.test('--no-inspector serves nothing', async (t) => {
  const dir = await workspace(t);
  const engine = await startEngineProcess(t, [
    '--data',
    join(dir, 'data'),
    '--no-inspector',
  ]);
  t.notMatch(engine.stdout(), /inspector/);
  t.equal(await engine.stop(), 0);
});

t.test('bad inspector flags are refused before anything starts', async (t) => {
  const dir = await workspace(t);
  const data = ['--data', join(dir, 'data')];

  const open = await wfe(['start', ...data, '--inspector-host', '0.0.0.0']);
  t.equal(open.code, 2);
  t.match(open.stderr, /--inspector-host 0\.0\.0\.0 lets other hosts in/);
  t.notMatch(open.stderr, /\n\s+at /, 'no stack trace');

  const port = await wfe(['start', ...data, '--inspector-port', 'http']);
  t.equal(port.code, 2);
  t.match(port.stderr, /--inspector-port must be a port number/);

  const stately = await wfe(['start', ...data, '--stately-inspect', 'x']);
  t.not(stately.code, 0);
  t.match(stately.stderr, /needs a WebSocket address/);
});
