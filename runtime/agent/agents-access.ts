import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

import type { JobWork } from '../../actors/job.js';
import type { Bus } from '../bus/types.js';
import { clampDelay } from '../clock.js';
import { toWfeError, WfeError } from '../errors.js';
import type { JobRunner, LiveJob } from '../jobs/runner.js';
import type { Logger } from '../log.js';
import type {
  AgentsAccess,
  JobLog,
  ScriptOptions,
  ScriptResult,
} from '../tasklets/types.js';
import { outcomeError } from './executor.js';
import {
  AGENT_KILL,
  AGENT_RUN,
  agentOutputSubject,
  DEFAULT_SCRIPT_TIMEOUT_MS,
  MAX_SOURCE_BYTES,
  parseOutputChunk,
  parseRunReply,
  type AgentKill,
  type AgentOutputChunk,
  type AgentRunReply,
  type AgentRunRequest,
} from './protocol.js';

// The script's own timeout ends it; the controller then still has to
// kill its group (2 s grace), drain its pipes (1 s) and clean up. A
// remote agent may first take up to its controller's start timeout
// (30 s by default) to come online. Past this margin the controller
// itself is presumed lost.
const REPLY_MARGIN_MS = 45_000;
// Chunks and the answer travel on different subjects and may cross; the
// chunks were published first, so they are normally moments behind.
const CHUNK_GRACE_MS = 2000;

export interface BusAgentsOptions {
  bus: Bus;
  runner: JobRunner;
  /** The actor action's job; each rscript becomes a child of it. */
  job: LiveJob;
  /** Relative script paths are found beside the calling tasklet. */
  taskletFile: string;
  /** The key of the rscript's job, for a caller that must not run twice. */
  idempotencyKey?: string;
  logger: Logger;
}

/**
 * `ctx.agents` for actor actions. Each rscript run is a child job that
 * sends the script to the agent controller over the bus; the job's log
 * carries the script's output as the controller streams it back.
 */
export function busAgents(options: BusAgentsOptions): AgentsAccess {
  return {
    async run(agentId, script, scriptOptions = {}) {
      if (typeof agentId !== 'string' || agentId === '') {
        throw new WfeError('BAD_INPUT', 'agent id must be a non-empty string');
      }
      if (typeof script !== 'string' || script.length === 0) {
        throw new WfeError('BAD_INPUT', 'rscript must be a file path');
      }

      const file = resolve(
        isAbsolute(script)
          ? script
          : join(dirname(options.taskletFile), script),
      );
      const child = await options.runner.start(
        {
          action: `rscript:${basename(file)}`,
          params: scriptOptions.params ?? {},
          target: null,
          maxDurationMs: null,
          idempotencyKey: options.idempotencyKey ?? null,
        },
        options.job.record.id,
        (job) => scriptWork(job, { ...options, agentId, file, scriptOptions }),
        { lostOn: ['AGENT_LOST'] },
      );

      const final = await options.runner.wait(child.id);
      if (final.status !== 'done') throw WfeError.fromInfo(final.error!);
      return final.result as ScriptResult;
    },
  };
}

interface ScriptCall {
  bus: Bus;
  logger: Logger;
  agentId: string;
  file: string;
  scriptOptions: ScriptOptions;
}

function scriptWork(job: LiveJob, call: ScriptCall): JobWork {
  let result: ScriptResult | null = null;

  return {
    steps: 1,
    async runStep() {
      const request: AgentRunRequest = {
        jobId: job.record.id,
        agent: call.agentId,
        name: basename(call.file),
        source: await readScript(call.file),
        params: call.scriptOptions.params ?? {},
        timeoutMs: call.scriptOptions.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
      };
      const { language, allowFailure } = call.scriptOptions;
      if (language !== undefined) request.language = language;
      if (allowFailure !== undefined) request.allowFailure = allowFailure;

      const reply = await runRemotely(job, call, request);
      job.log.info(`exit ${reply.exitCode ?? reply.signal}`, {
        exitCode: reply.exitCode,
        signal: reply.signal,
        durationMs: reply.durationMs,
      });

      const error = outcomeError(reply, { allowFailure, name: request.name });
      if (error) throw error;

      result = {
        exitCode: reply.exitCode,
        stdout: reply.stdout,
        stderr: reply.stderr,
        result: reply.result,
      };
      return 'continue';
    },
    result: () => result,
    abort: (reason) => job.abort(reason),
  };
}

/**
 * Sends the request and waits for its answer and all of its output. The
 * output subscription exists before the request leaves, so no chunk can
 * go by unseen; a job abort becomes a kill order to the controller.
 */
async function runRemotely(
  job: LiveJob,
  call: ScriptCall,
  request: AgentRunRequest,
): Promise<AgentRunReply> {
  const { bus } = call;
  const kill = (reason: string): void => {
    const order: AgentKill = { jobId: request.jobId, reason };
    bus.publish(AGENT_KILL, order);
  };
  const onAbort = (): void => kill(reasonText(job.signal.reason));

  if (job.signal.aborted) {
    throw new WfeError(
      'SCRIPT_CANCELLED',
      `script ${request.name} was not started: ${reasonText(job.signal.reason)}`,
    );
  }

  const output = new OrderedOutput(request.jobId, job.log, call.logger);
  const subscription = bus.subscribe(agentOutputSubject(request.jobId), (m) =>
    output.receive(m),
  );
  job.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const answer = await bus
      .request(AGENT_RUN, request, {
        timeoutMs: clampDelay(
          replyTimeout(request.timeoutMs) + REPLY_MARGIN_MS,
        ),
      })
      .catch((err: unknown) => {
        throw requestError(err, request, kill);
      });
    const reply = parseRunReply(answer);

    await output.settle(reply.chunks, CHUNK_GRACE_MS);
    return reply;
  } finally {
    job.signal.removeEventListener('abort', onAbort);
    subscription.unsubscribe();
  }
}

function replyTimeout(timeoutMs: number | undefined): number {
  const usable =
    typeof timeoutMs === 'number' &&
    Number.isFinite(timeoutMs) &&
    timeoutMs > 0;
  return usable ? timeoutMs : DEFAULT_SCRIPT_TIMEOUT_MS;
}

function requestError(
  err: unknown,
  request: AgentRunRequest,
  kill: (reason: string) => void,
): WfeError {
  const error = toWfeError(err);
  if (error.code === 'NO_RESPONDERS') {
    return new WfeError(
      'AGENT_UNAVAILABLE',
      `no agent controller answers; agent ${request.agent} cannot run ` +
        `script ${request.name}`,
      { retryable: true, details: { agent: request.agent }, cause: error },
    );
  }

  // The controller may still be running it; it must not outlive the job.
  if (error.code === 'BUS_TIMEOUT') kill('no answer in time');
  return error;
}

async function readScript(file: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch (err) {
    throw new WfeError('SCRIPT_NOT_FOUND', `script not found: ${file}`, {
      details: { file },
      cause: err,
    });
  }

  if (size > MAX_SOURCE_BYTES) {
    throw new WfeError(
      'PAYLOAD_TOO_LARGE',
      `script ${file} has ${size} bytes, over the limit of ${MAX_SOURCE_BYTES}`,
      { details: { file, bytes: size, limit: MAX_SOURCE_BYTES } },
    );
  }
  return readFile(file, 'utf8');
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : 'the job was aborted';
}

/**
 * Writes output chunks to the job log in `seq` order, once each, however
 * they arrive.
 */
class OrderedOutput {
  readonly #jobId: string;
  readonly #log: JobLog;
  readonly #logger: Logger;
  readonly #pending = new Map<number, AgentOutputChunk>();
  #next = 1;
  #waiting: { last: number; resolve(): void } | null = null;

  constructor(jobId: string, log: JobLog, logger: Logger) {
    this.#jobId = jobId;
    this.#log = log;
    this.#logger = logger;
  }

  receive(message: unknown): void {
    const chunk = parseOutputChunk(message);
    if (chunk === null || chunk.jobId !== this.#jobId) {
      this.#logger.warn({ jobId: this.#jobId }, 'unusable output chunk');
      return;
    }
    if (chunk.seq < this.#next || this.#pending.has(chunk.seq)) return;

    this.#pending.set(chunk.seq, chunk);
    this.#flush();
  }

  /** Waits up to `graceMs` for chunks up to `last`, then writes the rest. */
  async settle(last: number, graceMs: number): Promise<void> {
    if (this.#next <= last) {
      await new Promise<void>((resolveWait) => {
        const timer = setTimeout(resolveWait, graceMs);
        this.#waiting = {
          last,
          resolve: () => {
            clearTimeout(timer);
            resolveWait();
          },
        };
      });
      this.#waiting = null;
    }

    const missing = last - this.#next + 1 - this.#pending.size;
    if (missing <= 0) return;
    this.#log.warn(`${missing} output chunks were lost on the way`, {
      missing,
    });
    for (const seq of [...this.#pending.keys()].sort((a, b) => a - b)) {
      this.#write(this.#pending.get(seq)!);
    }
    this.#pending.clear();
  }

  #flush(): void {
    for (;;) {
      const chunk = this.#pending.get(this.#next);
      if (chunk === undefined) break;
      this.#pending.delete(this.#next);
      this.#next += 1;
      this.#write(chunk);
    }
    if (this.#waiting && this.#next > this.#waiting.last) {
      this.#waiting.resolve();
    }
  }

  #write(chunk: AgentOutputChunk): void {
    this.#log.info(chunk.chunk, { stream: chunk.stream });
  }
}
