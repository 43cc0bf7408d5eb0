import {
  parseKill,
  parseOutputChunk,
  parseRunRequest,
  type AgentKill,
  type AgentOutputChunk,
  type AgentRunRequest,
} from '../agent/protocol.js';
import type { ScriptOutcome } from '../agent/script-plan.js';
import { WfeError } from '../errors.js';

/**
 * The wire format between the agent controller and its agents. Every
 * payload is one element in this namespace whose text is a JSON object,
 * so that an agent can be written in any language with an XMPP library
 * and a JSON parser:
 *
 * | payload  | stanza                         | from → to           |
 * | -------- | ------------------------------ | ------------------- |
 * | `run`    | iq set; result or error        | controller → agent  |
 * | `kill`   | iq set; result                 | controller → agent  |
 * | `replay` | iq set; result                 | controller → agent  |
 * | `output` | message                        | agent → controller  |
 * | `done`   | iq set; result carrying `ack`  | agent → controller  |
 *
 * An iq always goes to a full JID. A refused iq is an iq error whose
 * `<error>` carries a `refused` payload `{code, message}`.
 */
export const AGENT_NS = 'urn:wfe:agent:1';

export const PAYLOADS = [
  'run',
  'kill',
  'replay',
  'output',
  'done',
  'ack',
  'refused',
] as const;
export type PayloadName = (typeof PAYLOADS)[number];

/**
 * Limits on the JSON text of one payload, in UTF-8 bytes. prosody's
 * default stanza limit for clients is 256 KiB; these leave room for the
 * stanza around them. Output travels in chunks of at most CHUNK_BYTES.
 */
export const MAX_PAYLOAD_BYTES = 192 * 1024;
export const CHUNK_BYTES = 16 * 1024;

/** What an agent reports when a run has ended: output went in chunks. */
export interface AgentDone extends Omit<ScriptOutcome, 'stdout' | 'stderr'> {
  jobId: string;
  /** How many `output` payloads the run sent; seq runs 1..chunks. */
  chunks: number;
  /** Set when the script could not be run at all. */
  error?: { code: string; message: string };
}

/** Asks an agent to send the output of a run again, from `fromSeq`. */
export interface AgentReplay {
  jobId: string;
  fromSeq: number;
}

export interface AgentAck {
  jobId: string;
}

export interface AgentRefusal {
  code: string;
  message: string;
}

export type Payload =
  | { name: 'run'; body: Omit<AgentRunRequest, 'agent'> & { agent?: string } }
  | { name: 'kill'; body: AgentKill }
  | { name: 'replay'; body: AgentReplay }
  | { name: 'output'; body: AgentOutputChunk }
  | { name: 'done'; body: AgentDone }
  | { name: 'ack'; body: AgentAck }
  | { name: 'refused'; body: AgentRefusal };

/** The JSON text of a payload; throws PAYLOAD_TOO_LARGE past the limit. */
export function encodePayload(payload: Payload): string {
  const text = JSON.stringify(payload.body);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new WfeError(
      'PAYLOAD_TOO_LARGE',
      `${payload.name} payload of ${bytes} bytes is over the limit of ` +
        `${MAX_PAYLOAD_BYTES}`,
      { details: { payload: payload.name, bytes, limit: MAX_PAYLOAD_BYTES } },
    );
  }
  return text;
}

/**
 * Reads a payload as it arrives: its element name and JSON text. Throws
 * BAD_PAYLOAD naming what is wrong; a peer's mistake never gets further.
 */
export function decodePayload(name: string, text: string): Payload {
  if (!PAYLOADS.includes(name as PayloadName)) {
    throw badPayload(name, `unknown payload <${name}>`);
  }
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
    throw badPayload(name, `over the limit of ${MAX_PAYLOAD_BYTES} bytes`);
  }

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badPayload(name, `not JSON: ${(err as Error).message}`);
  }
  return checked(name as PayloadName, body);
}

function checked(name: PayloadName, body: unknown): Payload {
  switch (name) {
    case 'run': {
      // The agent field names the addressee on the bus; on the wire the
      // addressee is the stanza's `to`.
      const request = parseRunRequest({ agent: 'wire', ...asObject(body) });
      return { name, body: request };
    }
    case 'kill':
      return { name, body: required(name, parseKill(body)) };
    case 'output':
      return { name, body: required(name, parseOutputChunk(body)) };
    case 'replay':
      return { name, body: replay(body) };
    case 'done':
      return { name, body: done(body) };
    case 'ack':
      return { name, body: { jobId: jobIdOf(name, body) } };
    case 'refused':
      return { name, body: refusal(body) };
  }
}

function replay(body: unknown): AgentReplay {
  const { fromSeq } = asObject(body);
  if (!Number.isSafeInteger(fromSeq) || (fromSeq as number) < 1) {
    throw badPayload('replay', 'fromSeq must be a whole number from 1');
  }
  return { jobId: jobIdOf('replay', body), fromSeq: fromSeq as number };
}

function done(body: unknown): AgentDone {
  const value = asObject(body);
  const truncated = asObject(value.truncated);
  const valid =
    nullable(value.exitCode, 'number') &&
    nullable(value.signal, 'string') &&
    nullable(value.resultError, 'string') &&
    typeof value.durationMs === 'number' &&
    typeof value.timedOut === 'boolean' &&
    typeof value.cancelled === 'boolean' &&
    typeof truncated.stdout === 'boolean' &&
    typeof truncated.stderr === 'boolean' &&
    Number.isSafeInteger(value.chunks) &&
    (value.chunks as number) >= 0 &&
    (value.error === undefined || isRefusal(value.error));
  if (!valid) {
    throw badPayload(
      'done',
      'needs exitCode, signal, resultError, durationMs, timedOut, ' +
        'cancelled, truncated {stdout, stderr} and chunks',
    );
  }
  return {
    ...(value as unknown as AgentDone),
    jobId: jobIdOf('done', body),
    result: value.result ?? null,
  };
}

function refusal(body: unknown): AgentRefusal {
  if (!isRefusal(body)) {
    throw badPayload('refused', 'needs a code and a message');
  }
  return { code: body.code, message: body.message };
}

function isRefusal(value: unknown): value is AgentRefusal {
  const { code, message } = asObject(value);
  return typeof code === 'string' && typeof message === 'string';
}

function jobIdOf(name: string, body: unknown): string {
  const { jobId } = asObject(body);
  if (typeof jobId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(jobId)) {
    throw badPayload(name, 'jobId must be 1 to 128 letters, digits, - or _');
  }
  return jobId;
}

function required<T>(name: string, value: T | null): T {
  if (value === null) throw badPayload(name, 'has missing or wrong fields');
  return value;
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function nullable(value: unknown, type: 'number' | 'string'): boolean {
  return value === null || typeof value === type;
}

function badPayload(name: string, problem: string): WfeError {
  return new WfeError('BAD_PAYLOAD', `<${name}> payload: ${problem}`, {
    details: { payload: name },
  });
}
