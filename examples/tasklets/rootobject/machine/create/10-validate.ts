import type { TaskletContext } from '../../../../../runtime/tasklets/types.js';

// Runs first: later tasklets can trust the params.
export const priority = 100;

export function main(ctx: TaskletContext) {
  const { name, memoryMb = 512, host = 'local' } = ctx.params;

  if (typeof name !== 'string' || !/^[a-z][a-z0-9-]{0,62}$/.test(name)) {
    throw Object.assign(
      new Error('params.name must be a lower-case host name, like "web1"'),
      { code: 'BAD_PARAMS' },
    );
  }
  if (!Number.isInteger(memoryMb) || (memoryMb as number) < 64) {
    throw Object.assign(new Error('params.memoryMb must be an integer >= 64'), {
      code: 'BAD_PARAMS',
    });
  }

  if (typeof host !== 'string' || host.length === 0) {
    throw Object.assign(
      new Error('params.host must be an agent id, like "local" or "web1"'),
      { code: 'BAD_PARAMS' },
    );
  }

  ctx.params.memoryMb = memoryMb;
  ctx.params.host = host;
}
