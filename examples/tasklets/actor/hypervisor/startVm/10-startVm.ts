import type { TaskletContext } from '../../../../../runtime/tasklets/types.js';

// The VM's host is the agent that runs the script: 'local' for this
// machine, or a remote agent's JID (a bare name means the controller's
// domain).
export async function main(ctx: TaskletContext) {
  const { agent = 'local' } = ctx.params;
  const run = await ctx.agents.run(String(agent), '../rscripts/start-vm.sh', {
    params: ctx.params,
    timeoutMs: 10_000,
  });
  return run.result;
}
