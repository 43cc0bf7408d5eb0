import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';
import type { Test } from 'tap';

/** Debian's chromium; scripts/services/install.sh installs it. */
const CHROMIUM = process.env.WFE_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots are test artefacts: kept out of the repository. */
export const SCREENSHOTS = join(
  import.meta.dirname,
  '..',
  '..',
  'artifacts',
  'screenshots',
);

/**
 * A headless chromium for the test, closed at its end. A missing browser
 * fails the test: the inspector's page is only tested in a real one.
 */
export async function launchBrowser(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no chromium at ${CHROMIUM}: run sh scripts/services/install.sh ` +
        '(or set WFE_CHROMIUM)',
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  t.teardown(() => browser.close());
  return browser;
}

const pageErrors = new WeakMap<Page, string[]>();

/** A page at 1280×800 that records the script errors it raises. */
export async function openPage(t: Test, browser: Browser): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
  });
  const page = await context.newPage();
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (err) => errors.push(err.message));
  t.teardown(() => context.close());
  return page;
}

/** Every test ends with this: a page that threw is a failed test. */
export function noScriptErrors(t: Test, page: Page): void {
  t.same(pageErrors.get(page), [], 'the page raised no script errors');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}
