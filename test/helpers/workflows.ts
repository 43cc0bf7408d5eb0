import type { Store } from '../../runtime/drp/types.js';

/**
 * Resolves once the workflow instance of job `id` is in `state`, as its
 * record in the store says; fails after `timeoutMs`.
 */
export async function instanceReaches(
  store: Pick<Store, 'getObject'>,
  id: string,
  state: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const instance = await store.getObject(id);
    const states = instance?.data.states as string[] | undefined;
    if (states?.includes(state)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`instance ${id} never reached ${state}`);
}
