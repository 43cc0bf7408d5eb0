import type { TaskletContext } from '../../../../../runtime/tasklets/types.js';

export const priority = 50;

export async function main(ctx: TaskletContext) {
  const existing = await ctx.drp.find({ type: 'machine', limit: 1000 });
  if (existing.some((m) => m.data.name === ctx.params.name)) {
    throw Object.assign(
      new Error(`a machine named ${String(ctx.params.name)} exists already`),
      { code: 'MACHINE_EXISTS' },
    );
  }

  const machine = await ctx.drp.create('machine', {
    name: ctx.params.name,
    memoryMb: ctx.params.memoryMb,
    host: ctx.params.host,
    status: 'stopped',
  });
  ctx.log.info('machine created', { guid: machine.guid });

  return { guid: machine.guid, name: machine.data.name, status: 'stopped' };
}
