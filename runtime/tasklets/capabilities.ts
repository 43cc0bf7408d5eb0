import type { Clock } from '../clock.js';
import type { Store } from '../drp/types.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import { WfeError } from '../errors.js';
import type { IdGenerator } from '../ids.js';
import { isPlainObject } from '../jobs/submission.js';
import type { ActionsAccess, DrpAccess } from './types.js';

/** `ctx.drp`: reads from the store, writes through the single writer. */
export function drpAccess(
  store: Store,
  writer: DrpWriterClient,
  ids: IdGenerator,
  clock: Clock,
): DrpAccess {
  const save = async (
    guid: string,
    type: string,
    data: unknown,
    expectedVersion: number,
  ) => {
    if (typeof type !== 'string' || type.length === 0) {
      throw new WfeError('BAD_INPUT', 'root object type must be a string');
    }
    if (!isPlainObject(data)) {
      throw new WfeError(
        'BAD_INPUT',
        `data of root object ${guid} must be a JSON object`,
      );
    }
    const saved = await writer.writeOrThrow({
      kind: 'object.save',
      guid,
      type,
      data: data as Record<string, unknown>,
      expectedVersion,
      at: clock.now(),
    });
    return saved!;
  };

  return {
    get: (guid) => store.getObject(guid),
    find: (query) => store.findObjects(query),
    create: (type, data, guid) => save(guid ?? ids(), type, data, 0),
    save: (object) =>
      save(object.guid, object.type, object.data, object.version),
    delete: async (object) => {
      await writer.writeOrThrow({
        kind: 'object.delete',
        guid: object.guid,
        expectedVersion: object.version,
      });
    },
  };
}

export type StartChild = (
  action: string,
  options: Parameters<ActionsAccess['start']>[1],
) => Promise<{ id: string }>;

export type WaitResult = (id: string) => Promise<unknown>;

/** `ctx.actions`: nested calls become child jobs of the caller's job. */
export function actionsAccess(
  startChild: StartChild,
  waitResult: WaitResult,
): ActionsAccess {
  return {
    async run(action, options) {
      const child = await startChild(action, options);
      return waitResult(child.id);
    },
    async start(action, options) {
      const child = await startChild(action, options);
      return { id: child.id, result: () => waitResult(child.id) };
    },
  };
}
