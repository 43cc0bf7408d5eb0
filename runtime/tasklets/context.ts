import { WfeError } from '../errors.js';
import type {
  ActionsAccess,
  AgentsAccess,
  DrpAccess,
  JobInfo,
  JobLog,
  Role,
  Tasklet,
  TaskletContext,
} from './types.js';

/** What a tasklet may use; which ones it gets depends on its role. */
export interface Capabilities {
  drp?: DrpAccess;
  actions?: ActionsAccess;
  agents?: AgentsAccess;
}

export interface ContextOptions {
  role: Role;
  job: JobInfo;
  tasklet: Pick<Tasklet, 'name' | 'file'>;
  params: Record<string, unknown>;
  log: JobLog;
  /** Made on first use: most tasklets never look at it. */
  signal(): AbortSignal;
  stop(): void;
  capabilities: Capabilities;
}

const WHY: Record<keyof Capabilities, string> = {
  drp: 'only root object actions read and write the DRP',
  actions: 'only root object actions start other actions',
  agents: 'only actor actions run rscripts on agents',
};

/**
 * The `ctx` a tasklet receives. Capabilities its role lacks are getters
 * that throw, so that a misplaced call fails with a clear message.
 */
class Context implements TaskletContext {
  readonly params: Record<string, unknown>;
  readonly job: JobInfo;
  readonly tasklet: { name: string; file: string };
  readonly log: JobLog;
  readonly stop: () => void;
  readonly #signal: () => AbortSignal;
  readonly #role: Role;
  readonly #capabilities: Capabilities;

  constructor(options: ContextOptions) {
    this.params = options.params;
    this.job = options.job;
    this.tasklet = { name: options.tasklet.name, file: options.tasklet.file };
    this.log = options.log;
    this.#signal = options.signal;
    this.stop = options.stop;
    this.#role = options.role;
    this.#capabilities = options.capabilities;
  }

  get signal(): AbortSignal {
    return this.#signal();
  }

  get drp(): DrpAccess {
    return this.#grant('drp');
  }

  get actions(): ActionsAccess {
    return this.#grant('actions');
  }

  get agents(): AgentsAccess {
    return this.#grant('agents');
  }

  #grant<K extends keyof Capabilities>(name: K): NonNullable<Capabilities[K]> {
    const capability = this.#capabilities[name];
    if (capability) return capability;

    throw new WfeError(
      'CAPABILITY_DENIED',
      `tasklet ${this.tasklet.name} of ${this.#role} action ` +
        `${this.job.action} cannot use ctx.${name}: ${WHY[name]}`,
      { details: { capability: name, role: this.#role, job: this.job.id } },
    );
  }
}

export function createTaskletContext(options: ContextOptions): TaskletContext {
  return new Context(options);
}
