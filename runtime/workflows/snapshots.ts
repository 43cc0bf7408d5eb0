import type { AnyActor } from 'xstate';

import type { WorkflowDefinition } from '../../machines/definition.js';
import type { Clock } from '../clock.js';
import type { DrpWriterClient } from '../drp/writer-client.js';
import type { Logger } from '../log.js';

/** The root object type under which workflow instances are kept. */
export const INSTANCE_TYPE = 'workflow-instance';

/** What the DRP holds of one instance, under its job's id. */
export interface InstanceRecord {
  workflow: string;
  version: number;
  /** The definition it runs, so it stays on it when the file changes. */
  definition: WorkflowDefinition;
  /**
   * The actor's persisted snapshot (state, context, invoked steps) as
   * JSON text: its keys are state paths with dots, which MongoDB does
   * not take as field names.
   */
  snapshot: string;
  /** Where it is, as a list of state paths, for people reading it. */
  states: string[];
  status: string;
  /** The definition's file; its rscripts are found beside it. */
  file: string;
  /** The engine process running it. */
  owner: string;
  /** Its transitions: where it was from when, the last 500. */
  history: HistoryEntry[];
}

/** What readers of a job are told of its instance. */
export type InstanceView = Pick<
  InstanceRecord,
  'workflow' | 'version' | 'states' | 'status' | 'history'
>;

/** The view of a stored instance record, without its snapshot. */
export function instanceView(record: InstanceRecord): InstanceView {
  const { workflow, version, states, status, history } = record;
  return { workflow, version, states, status, history: history ?? [] };
}

export interface HistoryEntry {
  at: number;
  states: string[];
}

const HISTORY_KEPT = 500;

/**
 * Writes each instance's snapshot through the DRP writer whenever its
 * state changes. Versions chain the saves of one instance, and changes
 * that arrive while a save is on its way are folded into the next one,
 * so a busy instance costs one save in flight, never a queue.
 */
export class InstanceSnapshots {
  readonly #writer: DrpWriterClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #instances = new Map<string, Pending>();

  constructor(writer: DrpWriterClient, clock: Clock, logger: Logger) {
    this.#writer = writer;
    this.#clock = clock;
    this.#logger = logger;
  }

  save(id: string, about: InstanceAbout, actor: AnyActor): void {
    let pending = this.#instances.get(id);
    if (!pending) {
      pending = { version: 0, next: null, flushing: null, history: [] };
      this.#instances.set(id, pending);
    }
    const states = statePaths(
      (actor.getSnapshot() as { value: unknown }).value,
    );
    const last = pending.history[pending.history.length - 1];
    if (!last || last.states.join() !== states.join()) {
      pending.history.push({ at: this.#clock.now(), states });
      pending.history.splice(0, pending.history.length - HISTORY_KEPT);
    }
    pending.next = { about, actor };
    pending.flushing ??= this.#flush(id, pending);
  }

  /** Goes on from a stored instance at `version` (a resumed one). */
  adopt(id: string, version: number, history: HistoryEntry[]): void {
    this.#instances.set(id, {
      version,
      next: null,
      flushing: null,
      history: [...history],
    });
  }

  /** Forgets an instance that has ended, once its last save is done. */
  async forget(id: string): Promise<void> {
    await this.settled(id);
    this.#instances.delete(id);
  }

  /** Resolves once every save asked for so far is durable. */
  async settled(id: string): Promise<void> {
    await this.#instances.get(id)?.flushing;
  }

  async #flush(id: string, pending: Pending): Promise<void> {
    while (pending.next) {
      const { about, actor } = pending.next;
      pending.next = null;
      const record = recordOf(about, actor, pending.history);
      try {
        const saved = await this.#writer.writeOrThrow({
          kind: 'object.save',
          guid: id,
          type: INSTANCE_TYPE,
          data: record as unknown as Record<string, unknown>,
          expectedVersion: pending.version,
          at: this.#clock.now(),
        });
        pending.version = saved?.version ?? pending.version + 1;
      } catch (err) {
        this.#logger.error(
          { err, instance: id },
          'could not save a workflow snapshot',
        );
      }
    }
    pending.flushing = null;
  }
}

/** What an instance's record says besides its actor's state. */
export interface InstanceAbout {
  definition: WorkflowDefinition;
  file: string;
  owner: string;
}

interface Pending {
  version: number;
  next: { about: InstanceAbout; actor: AnyActor } | null;
  flushing: Promise<void> | null;
  history: HistoryEntry[];
}

function recordOf(
  about: InstanceAbout,
  actor: AnyActor,
  history: HistoryEntry[],
): InstanceRecord {
  const { definition, file, owner } = about;
  const snapshot = actor.getSnapshot() as { value: unknown; status: string };
  return {
    workflow: definition.name,
    version: definition.version,
    file,
    owner,
    definition,
    snapshot: JSON.stringify(actor.getPersistedSnapshot()),
    states: statePaths(snapshot.value),
    status: snapshot.status,
    history,
  };
}

/** `{a: {b: 'c'}}` → `['a.b.c']`; parallel regions give one path each. */
export function statePaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    statePaths(inner, `${prefix}${key}.`),
  );
}
