import { createServer } from 'node:net';

import t from 'tap';

import { startInspector } from '../../../runtime/inspector/server.js';
import { engineTarget } from '../../../runtime/inspector/target.js';
import { testEngine } from '../../helpers/engine.js';
import { inspectedEngine } from '../../helpers/inspector.js';

const TOKEN = 's3cret-token';

t.test('off loopback, the inspector needs a token', async (t) => {
  const { engine } = await testEngine(t, {});
  await t.rejects(
    startInspector({
      target: engineTarget(engine),
      host: '0.0.0.0',
      port: 0,
      version: 'test',
    }),
    { code: 'BAD_CONFIG', message: /on 0\.0\.0\.0 needs an access token/ },
  );
});

t.test('a request without the token is refused', async (t) => {
  const { inspector } = await inspectedEngine(t, {
    host: '0.0.0.0',
    token: TOKEN,
  });
  const base = `http://127.0.0.1:${inspector.port}`;

  const bare = await fetch(`${base}/api/overview`);
  t.equal(bare.status, 401);
  t.match(await bare.json(), {
    error: { code: 'UNAUTHORIZED', message: /needs its access token/ },
  });
  const page = await fetch(`${base}/`);
  t.equal(page.status, 401, 'the page too');
  const wrong = await fetch(`${base}/api/overview`, {
    headers: { authorization: 'Bearer not-it' },
  });
  t.equal(wrong.status, 401, 'a wrong token');
  const stream = await fetch(`${base}/api/stream`);
  t.equal(stream.status, 401, 'the live feed');

  const bearer = await fetch(`${base}/api/overview`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(bearer.status, 200, 'a bearer token is taken');
  t.match(inspector.url, `?token=${TOKEN}`, 'the printed address has it');
});

t.test('the page gets the token once, as a cookie', async (t) => {
  const { inspector } = await inspectedEngine(t, { token: TOKEN });
  const base = `http://127.0.0.1:${inspector.port}`;

  const first = await fetch(`${base}/?token=${TOKEN}`, { redirect: 'manual' });
  const cookie = first.headers.get('set-cookie') ?? '';
  t.equal(first.status, 303);
  t.equal(first.headers.get('location'), '/', 'the token leaves the address');
  t.match(cookie, /^wfe_inspector=s3cret-token; HttpOnly; SameSite=Strict/);

  const next = await fetch(`${base}/api/overview`, {
    headers: { cookie: cookie.split(';')[0]! },
  });
  t.equal(next.status, 200);
  t.equal((await fetch(`${base}/api/overview`)).status, 401, 'no cookie');
});

t.test('on loopback, another Host is refused', async (t) => {
  const { inspector } = await inspectedEngine(t);
  const response = await fetchWithHost(inspector.port, 'evil.example');
  t.equal(response.status, 403);
  t.match(response.body, /does not answer for host 'evil\.example/);
  t.equal((await fetchWithHost(inspector.port, 'localhost')).status, 200);
});

t.test('ports: taken when given is an error; by default any', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const taken = (blocker.address() as { port: number }).port;
  const { engine } = await testEngine(t, {});

  await t.rejects(
    startInspector({
      target: engineTarget(engine),
      port: taken,
      version: 'test',
    }),
    { code: 'INSPECTOR_PORT_IN_USE', message: new RegExp(`:${taken}`) },
  );
});

t.test('the page is served, or a clear error when not built', async (t) => {
  const built = await inspectedEngine(t);
  const page = await built.get('/');
  t.equal(page.status, 200);
  t.match(page.headers.get('content-security-policy'), "default-src 'self'");
  t.match(await page.text(), /app\.js/);
  t.equal((await built.get('/nothing.js')).status, 404);
  t.equal((await built.post('/api/overview', {})).status, 405);

  const bare = await inspectedEngine(t, { assetsDir: '/nonexistent' });
  const missing = await bare.get('/');
  t.equal(missing.status, 503);
  t.match(await missing.json(), {
    error: { code: 'UI_NOT_BUILT', message: /npm run build/ },
  });
});

/** fetch() will not send a Host of our choosing; a raw request will. */
async function fetchWithHost(port: number, host: string) {
  const { request } = await import('node:http');
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/api/overview', headers: { host } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
