import t from 'tap';

import type { Engine } from '../../../runtime/engine.js';
import {
  launchBrowser,
  noScriptErrors,
  openPage,
  screenshot,
} from '../../helpers/browser.js';
import { inspectedEngine } from '../../helpers/inspector.js';
import { instanceReaches } from '../../helpers/workflows.js';

// Live updates come within a second or two; this only bounds a failure.
const LIVE_MS = 10_000;

t.test('a submitted job appears and changes state live', async (t) => {
  const { engine, base } = await inspectedEngine(t);
  const page = await openPage(t, await launchBrowser(t));
  await page.goto(`${base}/#/jobs`);
  await page.locator('[data-testid=conn]', { hasText: 'live' }).waitFor();

  const job = await engine.submit({
    action: 'demo.slow',
    params: { ms: 3000 },
  });
  const status = page.locator(
    `tr[data-job-id="${job.id}"] [data-field=status]`,
  );

  await status.filter({ hasText: /^running$/ }).waitFor({ timeout: LIVE_MS });
  await screenshot(page, 'jobs-running');
  await status.filter({ hasText: /^done$/ }).waitFor({ timeout: LIVE_MS });
  t.equal(await status.textContent(), 'done');
  t.equal(
    await page
      .locator(`tr[data-job-id="${job.id}"] [data-field=action]`)
      .textContent(),
    'demo.slow',
  );
  await screenshot(page, 'jobs-done');
  noScriptErrors(t, page);
});

t.test('the system view shows running actors and charts', async (t) => {
  const { engine, base } = await inspectedEngine(t);
  const page = await openPage(t, await launchBrowser(t));
  const slow = await engine.submit({ action: 'demo.slow' });
  const gate = await engine.submit({ action: 'flow.gate' });
  await instanceReaches(engine.store, gate.id, 'approval');
  for (let i = 0; i < 20; i++) await engine.run({ action: 'demo.echo' });

  await page.goto(`${base}/#/`);
  const writer = page.locator('[data-actor-id=drp-writer]');
  t.equal(
    await writer.locator('[data-field=mailbox]').textContent(),
    '0/10000',
  );
  // Groups are unfolded; the jobs and instances under them are listed.
  await page.locator(`[data-actor-id="job:${slow.id}"]`).waitFor();
  const instance = page.locator(`[data-actor-id="workflow:${gate.id}"]`);
  t.equal(
    await instance.locator('[data-field=state]').textContent(),
    'approval',
  );
  await page.locator('[data-agent-id=local]').waitFor();
  // The charts draw once the sampler has two points, a second apart.
  for (const chart of ['jobs', 'loop', 'mailboxes']) {
    await page
      .locator(`svg[data-chart=${chart}] path`)
      .first()
      // A flat line has no height, which Playwright calls hidden.
      .waitFor({ state: 'attached', timeout: LIVE_MS });
  }
  await screenshot(page, 'system-busy');

  await engine.cancel(slow.id);
  await page
    .locator(`[data-actor-id="job:${slow.id}"]`)
    .waitFor({ state: 'detached', timeout: LIVE_MS });
  await engine.cancel(gate.id);
  noScriptErrors(t, page);
});

t.test('a workflow highlights its state as it moves', async (t) => {
  const { engine, base } = await inspectedEngine(t);
  const page = await openPage(t, await launchBrowser(t));
  const gate = await engine.submit({ action: 'flow.gate' });
  await instanceReaches(engine.store, gate.id, 'approval');

  await page.goto(`${base}/#/jobs/${gate.id}`);
  const active = page.locator('[data-testid=diagram] g.state.active');
  await active.and(page.locator('[data-id=approval]')).waitFor();
  t.same(await activeIds(page), ['approval']);
  await screenshot(page, 'workflow-waiting');

  // Back to the first step of the history: the diagram as it was then.
  await page.locator('[data-history-index="0"]').click();
  await active.and(page.locator('[data-id=prepare]')).waitFor();
  t.same(await activeIds(page), ['prepare'], 'the first step shows prepare');
  await page.locator('[data-testid=history-live]').click();
  await active.and(page.locator('[data-id=approval]')).waitFor();

  await page.locator('[data-testid=event-type]').fill('approve');
  await page.locator('[data-testid=send-event]').click();
  await page.locator('[data-testid=confirm-ok]').click();

  await active.and(page.locator('[data-id=finish]')).waitFor({
    timeout: LIVE_MS,
  });
  await screenshot(page, 'workflow-moved');
  await page
    .locator('[data-testid=job-status]', { hasText: /^done$/ })
    .waitFor({ timeout: LIVE_MS });
  t.match(await engine.wait(gate.id), { status: 'done' });
  noScriptErrors(t, page);
});

t.test('a job cancelled from its page shows as cancelled', async (t) => {
  const { engine, base } = await inspectedEngine(t);
  const page = await openPage(t, await launchBrowser(t));
  const slow = await engine.submit({ action: 'demo.slow' });

  await page.goto(`${base}/#/jobs/${slow.id}`);
  const status = page.locator('[data-testid=job-status]');
  await status.filter({ hasText: /^running$/ }).waitFor({ timeout: LIVE_MS });

  await page.locator('[data-testid=cancel-job]').click();
  await screenshot(page, 'cancel-confirm');
  await page.locator('[data-testid=confirm-ok]').click();

  await status.filter({ hasText: /^cancelled$/ }).waitFor({ timeout: LIVE_MS });
  t.match(await engine.wait(slow.id), { status: 'cancelled' });
  await screenshot(page, 'cancelled');
  noScriptErrors(t, page);
});

t.test("an rscript's output streams into the page", async (t) => {
  const { engine, base } = await inspectedEngine(t);
  const page = await openPage(t, await launchBrowser(t));
  const job = await engine.submit({
    action: 'hv.ticks',
    params: { n: 8, pause: 0.4 },
  });
  const script = await childOf(engine, job.id);

  await page.goto(`${base}/#/jobs/${script}`);
  const stdout = page.locator('pre[data-testid=stdout]');
  await stdout.filter({ hasText: 'tick 1' }).waitFor({ timeout: LIVE_MS });
  const shownEarly = await stdout.textContent();
  const statusEarly = await page
    .locator('[data-testid=job-status]')
    .textContent();

  t.equal(statusEarly, 'running', 'output shows while the script runs');
  t.notMatch(shownEarly, /tick 8/, 'before the script has ended');
  await screenshot(page, 'rscript-streaming');

  await stdout.filter({ hasText: 'tick 8' }).waitFor({ timeout: LIVE_MS });
  const stderr = page.locator('pre[data-testid=stderr]');
  await stderr.filter({ hasText: 'warn 8' }).waitFor({ timeout: LIVE_MS });
  t.equal(
    (await stdout.textContent())?.trim(),
    Array.from({ length: 8 }, (_, i) => `tick ${i + 1}`).join('\n'),
    'every line once, in order',
  );
  await screenshot(page, 'rscript-done');
  noScriptErrors(t, page);
});

t.test('off loopback, a page without the token is refused', async (t) => {
  const { inspector } = await inspectedEngine(t, {
    host: '0.0.0.0',
    token: 'page-token',
  });
  const page = await openPage(t, await launchBrowser(t));
  const base = `http://127.0.0.1:${inspector.port}`;

  const refused = await page.goto(`${base}/`);
  t.equal(refused?.status(), 401);
  t.match(await page.textContent('body'), /needs its access token/);
  await screenshot(page, 'token-refused');

  const allowed = await page.goto(`${base}/?token=page-token`);
  t.equal(allowed?.status(), 200);
  t.equal(new URL(page.url()).search, '', 'the token left the address');
  await page.locator('[data-testid=conn]', { hasText: 'live' }).waitFor();
  await screenshot(page, 'system');
  noScriptErrors(t, page);
});

async function activeIds(page: import('playwright-core').Page) {
  return page
    .locator('[data-testid=diagram] g.state.active')
    .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-id')));
}

async function childOf(engine: Engine, id: string): Promise<string> {
  for (;;) {
    const [, child] = await engine.store.jobTree(id);
    if (child) return child.id;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
