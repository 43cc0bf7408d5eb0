import { join } from 'node:path';

import type { Test } from 'tap';

import { testEngine, type TestEngine } from '../../helpers/engine.js';
import { natsServer, type NatsServer } from '../../helpers/nats.js';

const RO = 'rootobject';

/**
 * Small actions for the networked commands. `calc.parent` runs
 * `calc.child`, which waits until the file named by `gate` exists, so a
 * test decides when the tree ends.
 */
export const CALC_TASKLETS = {
  [`${RO}/calc/add/main.mjs`]: `
    export function main(ctx) {
      ctx.log.info('adding', { a: ctx.params.a, b: ctx.params.b });
      return { sum: ctx.params.a + ctx.params.b };
    }`,
  [`${RO}/calc/fail/main.mjs`]: `
    export function main() {
      throw Object.assign(new Error('cannot divide by zero'), {
        code: 'CALC_FAILED',
      });
    }`,
  [`${RO}/calc/parent/main.mjs`]: `
    export async function main(ctx) {
      ctx.log.info('parent starts');
      const child = await ctx.actions.run('calc.child', {
        params: { gate: ctx.params.gate },
      });
      ctx.log.info('parent ends');
      return { child };
    }`,
  [`${RO}/calc/child/main.mjs`]: `
    import { existsSync } from 'node:fs';
    export async function main(ctx) {
      ctx.log.info('child waits');
      while (!existsSync(ctx.params.gate)) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      ctx.log.warn('child done', { gate: 'open' });
      return 'ok';
    }`,
};

export interface NatsEngine extends TestEngine {
  nats: NatsServer;
  /** `--nats URL` */
  flag: string[];
  /** A gate file path that no test has opened yet. */
  gate(): string;
}

/** A real nats-server and an engine on it, both gone when `t` ends. */
export async function natsEngine(t: Test): Promise<NatsEngine> {
  const nats = await natsServer(t);
  const engine = await testEngine(t, CALC_TASKLETS, {
    nats: { url: nats.url },
  });
  let gates = 0;
  return {
    ...engine,
    nats,
    flag: ['--nats', nats.url],
    gate: () => join(engine.dir, `gate-${++gates}`),
  };
}

/** Polls until `check` holds; tests end by tap's timeout otherwise. */
export async function eventually(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}
