import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Bus, BusSubscription } from '../bus/types.js';
import { WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import { runScript } from './executor.js';
import {
  AGENT_CONTROLLERS,
  AGENT_KILL,
  AGENT_RUN,
  agentOutputSubject,
  agentUnavailable,
  LOCAL_AGENT,
  parseKill,
  parseRunRequest,
  type AgentOutputChunk,
  type AgentRunReply,
  type AgentRunRequest,
} from './protocol.js';

export interface AgentControllerOptions {
  logger: Logger;
  /** Each run gets a fresh private folder below this one. */
  tmpDir: string;
  /** Runs the requests for agents other than 'local'; none without it. */
  remote?: RemoteAgents;
}

/** Where runs for remote agents go (the XMPP agent controller). */
export interface RemoteAgents {
  /**
   * Runs a request on its agent. `onChunk` gets the output in order,
   * numbered 1, 2, 3…; an abort of `signal` kills the run.
   */
  run(
    request: AgentRunRequest,
    onChunk: (chunk: AgentOutputChunk) => void,
    signal: AbortSignal,
  ): Promise<AgentRunReply>;
}

export interface AgentController {
  /** Stops serving, kills the running scripts and waits for them. */
  close(): Promise<void>;
  /** Scripts running now. */
  running(): number;
}

interface Run {
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * The agent controller's side of the bus: runs the rscripts that jobs
 * ask for. The 'local' agent runs them on this host; any other goes to
 * `remote` when there is one. Kills reach both through the run's signal.
 */
export function serveAgents(
  bus: Bus,
  options: AgentControllerOptions,
): AgentController {
  const { logger } = options;
  const runs = new Map<string, Run>();
  let closing: Promise<void> | null = null;

  const serveRun = async (message: unknown): Promise<AgentRunReply> => {
    const request = parseRunRequest(message);
    checkAcceptable(request, runs, closing !== null, options.remote);

    const controller = new AbortController();
    const done =
      request.agent === LOCAL_AGENT
        ? runRequest(bus, request, controller.signal, options)
        : runRemotely(bus, request, controller.signal, options.remote!);
    runs.set(request.jobId, { controller, done: done.catch(() => {}) });
    return done.finally(() => runs.delete(request.jobId));
  };

  const kill = (message: unknown): void => {
    const order = parseKill(message);
    if (order === null) {
      logger.warn({ message }, 'unusable agent kill order dropped');
      return;
    }

    const run = runs.get(order.jobId);
    if (!run) {
      logger.debug({ jobId: order.jobId }, 'kill for no running rscript');
      return;
    }
    logger.info({ jobId: order.jobId, reason: order.reason }, 'rscript kill');
    run.controller.abort(new WfeError('SCRIPT_CANCELLED', order.reason));
  };

  const subscriptions: BusSubscription[] = [
    // One controller of the group takes each run: never two at once.
    bus.serve(AGENT_RUN, serveRun, { queue: AGENT_CONTROLLERS }),
    bus.subscribe(AGENT_KILL, kill),
  ];

  const close = async (): Promise<void> => {
    for (const subscription of subscriptions) subscription.unsubscribe();

    const stopping = [...runs.values()];
    for (const run of stopping) {
      run.controller.abort(
        new WfeError('SHUTTING_DOWN', 'the agent controller is closing'),
      );
    }
    await Promise.all(stopping.map((run) => run.done));
  };

  return {
    close: () => (closing ??= close()),
    running: () => runs.size,
  };
}

function checkAcceptable(
  request: AgentRunRequest,
  runs: Map<string, Run>,
  closing: boolean,
  remote: RemoteAgents | undefined,
): void {
  if (closing) {
    throw new WfeError('SHUTTING_DOWN', 'the agent controller is closing', {
      retryable: true,
    });
  }

  if (request.agent !== LOCAL_AGENT && !remote) {
    throw agentUnavailable(request.agent);
  }

  // A repeated request (a retry after a lost answer) must not run the
  // script a second time beside the first.
  if (runs.has(request.jobId)) {
    throw new WfeError(
      'RUN_IN_PROGRESS',
      `an rscript for job ${request.jobId} is already running`,
      { details: { jobId: request.jobId } },
    );
  }
}

async function runRemotely(
  bus: Bus,
  request: AgentRunRequest,
  signal: AbortSignal,
  remote: RemoteAgents,
): Promise<AgentRunReply> {
  const subject = agentOutputSubject(request.jobId);
  return remote.run(request, (chunk) => bus.publish(subject, chunk), signal);
}

/**
 * Runs one request on this host. The script keeps its base name so that
 * its extension still tells the language; mkdtemp makes the folder 0700,
 * so other users cannot read or swap the script.
 */
async function runRequest(
  bus: Bus,
  request: AgentRunRequest,
  signal: AbortSignal,
  options: AgentControllerOptions,
): Promise<AgentRunReply> {
  const { jobId, name } = request;
  const subject = agentOutputSubject(jobId);
  let seq = 0;

  await mkdir(options.tmpDir, { recursive: true });
  const folder = await mkdtemp(join(options.tmpDir, 'wfe-agent-'));
  try {
    const file = join(folder, name);
    await writeFile(file, request.source, { mode: 0o600 });

    options.logger.info({ jobId, name }, 'rscript started');
    const outcome = await runScript({
      file,
      language: request.language,
      params: request.params,
      timeoutMs: request.timeoutMs,
      signal,
      onOutput: (stream, chunk) => {
        seq += 1;
        bus.publish(subject, { jobId, seq, stream, chunk });
      },
    });
    options.logger.info(
      {
        jobId,
        name,
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        durationMs: outcome.durationMs,
        allowFailure: request.allowFailure ?? false,
      },
      'rscript finished',
    );
    return { ...outcome, chunks: seq };
  } finally {
    // Failing to clean up must not hide the outcome or the real error.
    await rm(folder, { recursive: true, force: true }).catch((err: unknown) =>
      options.logger.warn({ err, folder }, 'rscript folder not removed'),
    );
  }
}
