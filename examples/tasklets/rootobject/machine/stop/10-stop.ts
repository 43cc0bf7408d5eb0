import type { TaskletContext } from '../../../../../runtime/tasklets/types.js';

// Asks the hypervisor to stop the VM, then records the new status. The
// save carries the version read above, so a concurrent change is a
// CONFLICT instead of a lost update.
export async function main(ctx: TaskletContext) {
  const guid = ctx.job.target;
  const machine = guid ? await ctx.drp.get(guid) : null;
  if (!machine || machine.type !== 'machine') {
    throw Object.assign(new Error(`no machine with guid ${guid}`), {
      code: 'NOT_FOUND',
    });
  }

  const vm = await ctx.actions.run('hypervisor.stopVm', {
    params: {
      name: machine.data.name,
      memoryMb: machine.data.memoryMb,
      agent: machine.data.host,
    },
  });

  const saved = await ctx.drp.save({
    ...machine,
    data: { ...machine.data, status: 'stopped' },
  });
  return { guid, status: saved.data.status, version: saved.version, vm };
}
