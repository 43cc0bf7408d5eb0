import { createActor, type AnyActor } from 'xstate';

import type { JobWork, StepOutcome } from '../../actors/job.js';
import { compileWorkflow } from '../../machines/compile.js';
import type {
  StepRequest,
  WorkflowOutput,
  WorkflowServices,
} from '../../machines/workflow-services.js';
import type { WorkflowDefinition } from '../../machines/definition.js';
import type { Clock } from '../clock.js';
import { WfeError } from '../errors.js';
import type { Inspect } from '../inspection.js';
import type { LiveJob } from '../jobs/runner.js';
import type { InstanceSnapshots } from './snapshots.js';

export interface WorkflowWorkOptions {
  definition: WorkflowDefinition;
  /** The definition's file and this engine, for the instance record. */
  file: string;
  owner: string;
  job: LiveJob;
  clock: Clock;
  inspect?: Inspect;
  /** Runs one step (action, rscript, child workflow) as a child job. */
  runStep(request: StepRequest, signal: AbortSignal): Promise<unknown>;
  snapshots: InstanceSnapshots;
  /** Called with the instance's actor while it runs, then with null. */
  onActor(actor: AnyActor | null): void;
  /** A persisted snapshot to go on from, when the instance is resumed. */
  snapshot?: unknown;
  /** Ends the job cancelled, once a cancelled instance has compensated. */
  cancelled(reason: string): Promise<void>;
}

/**
 * The work of a workflow job: one step that runs the instance, an XState
 * actor compiled from the definition, until it reaches a final state.
 * Every change of its state is written to the DRP (see snapshots.ts).
 */
export function workflowWork(options: WorkflowWorkOptions): JobWork {
  const { job, definition } = options;
  let actor: AnyActor | null = null;
  let output: WorkflowOutput | undefined;
  const stopping = new AbortController();

  const services: WorkflowServices = {
    now: () => options.clock.now(),
    runStep: (request, signal) =>
      options.runStep(request, AbortSignal.any([signal, stopping.signal])),
    sleepUntil: (deadline, signal) =>
      sleepUntil(deadline - options.clock.now(), signal),
    compensationFailed: (request, err) => {
      const reason = err instanceof Error ? err.message : String(err);
      job.log.warn(`compensation of ${request.state} failed: ${reason}`);
    },
  };

  const runStep = async (): Promise<StepOutcome> => {
    const machine = compileWorkflow(definition, services);
    actor = createActor(machine, {
      inspect: options.inspect as never,
      input: {
        instanceId: job.record.id,
        params: job.record.params,
        target: job.record.target,
      },
      snapshot: options.snapshot as never,
    });
    options.onActor(actor);

    try {
      output = await runToEnd(actor, options, job);
    } finally {
      options.onActor(null);
    }
    if (output.status === 'error' && output.error.code === 'CANCELLED') {
      await options.cancelled(output.error.message);
    }
    if (output.status === 'error') {
      throw WfeError.fromInfo(output.error);
    }
    return 'stop';
  };

  return {
    steps: 1,
    runStep,
    result: () => (output?.status === 'done' ? output.result : undefined),
    abort: (reason) => {
      stopping.abort(reason);
      actor?.stop();
    },
  };
}

/** Starts the actor and resolves with its output once it is done. */
function runToEnd(
  actor: AnyActor,
  options: WorkflowWorkOptions,
  job: LiveJob,
): Promise<WorkflowOutput> {
  return new Promise((resolve, reject) => {
    actor.subscribe({
      next: (snapshot) => {
        const { definition, file, owner } = options;
        options.snapshots.save(
          job.record.id,
          { definition, file, owner },
          actor,
        );
        if (snapshot.status === 'done') {
          resolve(snapshot.output as WorkflowOutput);
        } else if (snapshot.status === 'stopped') {
          reject(new WfeError('CANCELLED', 'the workflow was stopped'));
        }
      },
      error: (err: unknown) => reject(err),
    });
    actor.start();
  });
}

function sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
