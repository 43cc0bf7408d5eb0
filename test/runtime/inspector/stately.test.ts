import t from 'tap';
import { WebSocketServer } from 'ws';

import { silentLogger } from '../../../runtime/log.js';
import { startStatelyStream } from '../../../runtime/inspector/stately.js';
import { testEngine } from '../../helpers/engine.js';

t.test('actors stream to a Stately WebSocket inspector', async (t) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const received: any[] = [];
  server.on('connection', (socket) => {
    socket.on('message', (data) => received.push(JSON.parse(String(data))));
  });

  const { port } = server.address() as { port: number };
  const stately = startStatelyStream(`ws://127.0.0.1:${port}`, silentLogger());
  t.teardown(() => stately.stop());
  const { engine } = await testEngine(
    t,
    {
      'rootobject/demo/echo/main.mjs': `
        export function main(ctx) { return ctx.params; }`,
    },
    { inspect: stately.inspect },
  );
  await engine.run({ action: 'demo.echo', params: { n: 1 } });

  const deadline = Date.now() + 10_000;
  const seen = () => new Set(received.map((event) => event.type));
  while (Date.now() < deadline && !seen().has('@xstate.event')) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const actors = received.filter((event) => event.type === '@xstate.actor');
  t.ok(seen().has('@xstate.actor'), 'actors are announced');
  t.ok(seen().has('@xstate.event'), 'events are sent');
  t.ok(seen().has('@xstate.snapshot'), 'snapshots are sent');
  t.ok(
    actors.some((event) => event.name === 'supervisor'),
    'the root supervisor is among them',
  );
  t.ok(
    received.every((event) => typeof event.sessionId === 'string'),
    'each names its actor',
  );
  const root = actors.find((event) => event.name === 'supervisor');
  t.notMatch(
    JSON.stringify(root.snapshot.context ?? {}),
    /"levels"|"stream"/,
    'loggers are named, not walked',
  );
});

t.test('a bad Stately address is a clear error', async (t) => {
  t.throws(() => startStatelyStream('http://x', silentLogger()), {
    code: 'BAD_CONFIG',
    message: /WebSocket address like ws:\/\/127\.0\.0\.1:8080/,
  });
});
