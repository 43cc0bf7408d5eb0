import { basename } from 'node:path';

import { WfeError } from '../errors.js';
import type { ScriptOutcome } from './script-plan.js';

/**
 * How a job asks the agent controller to run an rscript, over the bus.
 * Every message is plain JSON, because the controller may live in
 * another process:
 *
 * - request AGENT_RUN with an AgentRunRequest; the answer is an
 *   AgentRunReply once the script has ended, or an error;
 * - publish AGENT_KILL with an AgentKill to stop a run;
 * - the controller publishes AgentOutputChunk messages on
 *   agentOutputSubject(jobId) while the script runs, all of them before
 *   it answers.
 */

export const AGENT_RUN = 'wfe.internal.agents.run';
export const AGENT_KILL = 'wfe.internal.agents.kill';

/** The queue group of the processes that serve AGENT_RUN. */
export const AGENT_CONTROLLERS = 'wfe-agent-controllers';

/** Where the output of the rscript run by job `jobId` is published. */
export function agentOutputSubject(jobId: string): string {
  return `wfe.internal.agents.output.${jobId}`;
}

/** The agent that runs rscripts on the controller's own host. */
export const LOCAL_AGENT = 'local';

/** What a run on an agent that is not connected fails with. */
export function agentUnavailable(agent: string): WfeError {
  return new WfeError(
    'AGENT_UNAVAILABLE',
    `agent ${agent} is not connected; only the '${LOCAL_AGENT}' agent is`,
    { retryable: true, details: { agent } },
  );
}

/** The largest script source a controller accepts, in UTF-8 bytes. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

/** The executor's own default; requests always carry a timeout. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 60_000;

export interface AgentRunRequest {
  /** The rscript's own job; names its output subject and its kills. */
  jobId: string;
  agent: string;
  /** The script's file base name; its extension tells the language. */
  name: string;
  source: string;
  language?: string;
  params: Record<string, unknown>;
  timeoutMs?: number;
  /** Carried for the log only: the caller judges the outcome. */
  allowFailure?: boolean;
}

/** The executor's outcome, and how many output chunks were published. */
export interface AgentRunReply extends ScriptOutcome {
  chunks: number;
}

export interface AgentOutputChunk {
  jobId: string;
  /** 1, 2, 3… in publishing order, so that receivers can reorder. */
  seq: number;
  stream: 'stdout' | 'stderr';
  chunk: string;
}

export interface AgentKill {
  jobId: string;
  reason: string;
}

// Job ids become a subject token: no dots, wildcards or spaces.
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Checks a run request as it arrives; names the first bad field. */
export function parseRunRequest(message: unknown): AgentRunRequest {
  const input = expectObject(message, 'request');
  const request: AgentRunRequest = {
    jobId: expectJobId(input.jobId),
    agent: expectText(input.agent, 'agent'),
    name: expectName(input.name),
    source: expectSource(input.source),
    params: expectObject(input.params, 'params'),
  };

  if (input.language !== undefined) {
    request.language = expectText(input.language, 'language');
  }
  if (input.timeoutMs !== undefined) {
    request.timeoutMs = expectNumber(input.timeoutMs, 'timeoutMs');
  }
  if (input.allowFailure !== undefined) {
    if (typeof input.allowFailure !== 'boolean') {
      throw badField('allowFailure', 'must be a boolean');
    }
    request.allowFailure = input.allowFailure;
  }
  return request;
}

/** Checks a controller's answer before the caller trusts it. */
export function parseRunReply(message: unknown): AgentRunReply {
  const reply = isObject(message) ? message : {};
  const valid =
    isNullable(reply.exitCode, 'number') &&
    isNullable(reply.signal, 'string') &&
    typeof reply.stdout === 'string' &&
    typeof reply.stderr === 'string' &&
    isNullable(reply.resultError, 'string') &&
    typeof reply.durationMs === 'number' &&
    typeof reply.timedOut === 'boolean' &&
    typeof reply.cancelled === 'boolean' &&
    isObject(reply.truncated) &&
    Number.isSafeInteger(reply.chunks) &&
    (reply.chunks as number) >= 0;
  if (!valid) {
    throw new WfeError(
      'AGENT_BAD_REPLY',
      'the agent controller answered a run with an unusable reply',
    );
  }
  return { ...reply, result: reply.result ?? null } as AgentRunReply;
}

/** An output chunk, or null when the message is not one. */
export function parseOutputChunk(message: unknown): AgentOutputChunk | null {
  if (!isObject(message)) return null;
  const { jobId, seq, stream, chunk } = message;
  const valid =
    typeof jobId === 'string' &&
    Number.isSafeInteger(seq) &&
    (seq as number) >= 1 &&
    (stream === 'stdout' || stream === 'stderr') &&
    typeof chunk === 'string';
  return valid ? { jobId, seq: seq as number, stream, chunk } : null;
}

/** A kill order, or null when the message is not one. */
export function parseKill(message: unknown): AgentKill | null {
  if (!isObject(message) || typeof message.jobId !== 'string') return null;
  const reason =
    typeof message.reason === 'string' ? message.reason : 'killed on request';
  return { jobId: message.jobId, reason };
}

function expectObject(value: unknown, field: string): Record<string, unknown> {
  if (!isObject(value)) throw badField(field, 'must be an object');
  return value;
}

function expectText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw badField(field, 'must be a non-empty string');
  }
  return value;
}

function expectNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw badField(field, 'must be a number');
  }
  return value;
}

function expectJobId(value: unknown): string {
  if (typeof value !== 'string' || !JOB_ID.test(value)) {
    throw badField('jobId', 'must be 1 to 128 letters, digits, - or _');
  }
  return value;
}

// The name becomes a file in the controller's temp folder.
function expectName(value: unknown): string {
  const name = expectText(value, 'name');
  const plain =
    name.length <= 255 &&
    basename(name) === name &&
    !name.includes('\\') &&
    !name.includes('\0') &&
    name !== '.' &&
    name !== '..';
  if (!plain) throw badField('name', 'must be a plain file name');
  return name;
}

function expectSource(value: unknown): string {
  if (typeof value !== 'string') throw badField('source', 'must be a string');
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_SOURCE_BYTES) {
    throw new WfeError(
      'PAYLOAD_TOO_LARGE',
      `source has ${bytes} bytes, over the limit of ${MAX_SOURCE_BYTES}`,
      { details: { field: 'source', bytes, limit: MAX_SOURCE_BYTES } },
    );
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNullable(value: unknown, type: 'number' | 'string'): boolean {
  return value === null || typeof value === type;
}

function badField(field: string, problem: string): WfeError {
  return new WfeError('BAD_INPUT', `agent run request: ${field} ${problem}`, {
    details: { field },
  });
}
