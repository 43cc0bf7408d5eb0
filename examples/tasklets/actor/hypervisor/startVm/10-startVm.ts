import type { TaskletContext } from '../../../../../runtime/tasklets/types.js';

export async function main(ctx: TaskletContext) {
  const run = await ctx.agents.run('local', '../rscripts/start-vm.sh', {
    params: ctx.params,
    timeoutMs: 10_000,
  });
  return run.result;
}
