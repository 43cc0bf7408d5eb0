import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { jid as parseJid, xml, type Element, type JID } from '@xmpp/client';

import { runScript } from '../agent/executor.js';
import type { AgentOutputChunk } from '../agent/protocol.js';
import { toErrorInfo, WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  connectXmpp,
  type XmppConnection,
  type XmppOptions,
} from './connect.js';
import {
  AGENT_NS,
  CHUNK_BYTES,
  decodePayload,
  encodePayload,
  type AgentDone,
  type AgentRefusal,
  type AgentReplay,
  type Payload,
} from './protocol.js';
import { payloadElement, refusalElement } from './stanzas.js';

/** A run as it comes on the wire: the addressee is the stanza's `to`. */
type RunRequest = Extract<Payload, { name: 'run' }>['body'];

/**
 * The agent program: logs into XMPP as its own JID, runs the rscripts that
 * the controller sends, streams their output back and keeps each result
 * until the controller acknowledges it. Only the controller's bare JID is
 * obeyed; everyone else is refused and logged.
 */
export interface AgentOptions extends XmppOptions {
  /** The controller's bare JID: the only party this agent obeys. */
  controller: string;
  /** Scripts run at once; more are refused with AGENT_BUSY. @default 4 */
  concurrency?: number;
  /** Each run gets a fresh private folder below this one. @default tmpdir */
  workDir?: string;
}

export interface RunningAgent {
  /** The agent's full JID. */
  jid: string;
  /** Scripts running now. */
  running(): number;
  /** Kills the running scripts and goes offline. */
  stop(): Promise<void>;
}

const DEFAULT_CONCURRENCY = 4;
const STREAMS = ['stdout', 'stderr'] as const;

interface Run {
  jobId: string;
  /** Where output and done go: the full JID of the controller's side. */
  replyTo: string;
  abort: AbortController;
  /** Every chunk sent, kept until the controller acknowledges the run. */
  chunks: AgentOutputChunk[];
  /** Set once the script has ended. */
  done: AgentDone | null;
  ended: Promise<void>;
}

/** An iq handler's answer: a refusal, or an empty result. */
type Answer = AgentRefusal | null;

/**
 * What the client's middleware hands each incoming stanza. The shared
 * declaration of @xmpp/client leaves the middleware out; this is its shape.
 */
interface IncomingContext {
  stanza: Element;
  /** The iq's only child, for iq get and set. */
  element?: Element;
  from: JID | null;
  type: string;
}
type Middleware = (
  context: IncomingContext,
  next: () => Promise<unknown>,
) => Promise<unknown>;
interface WithMiddleware {
  middleware: { use(fn: Middleware): void };
}

export async function startAgent(
  options: AgentOptions,
  logger: Logger,
): Promise<RunningAgent> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new WfeError(
      'BAD_CONFIG',
      `agent concurrency must be a positive whole number, got ${concurrency}`,
    );
  }
  const controller = bareJid(options.controller);

  const { controller: _c, concurrency: _n, workDir, ...xmpp } = options;
  const connection = await connectXmpp(xmpp, logger);
  const agent = new Agent(connection, {
    controller,
    concurrency,
    workDir: workDir ?? tmpdir(),
    logger: logger.child({ agent: connection.jid }),
  });
  try {
    await agent.start();
  } catch (err) {
    await connection.stop();
    throw err;
  }

  return {
    jid: connection.jid,
    running: () => agent.running(),
    stop: () => agent.stop(),
  };
}

interface AgentSetup {
  controller: string;
  concurrency: number;
  workDir: string;
  logger: Logger;
}

class Agent {
  readonly #connection: XmppConnection;
  readonly #setup: AgentSetup;
  readonly #runs = new Map<string, Run>();
  /** done iqs awaiting their answer, by iq id. */
  readonly #unanswered = new Map<string, Run>();
  #running = 0;
  #stopping: Promise<void> | null = null;

  constructor(connection: XmppConnection, setup: AgentSetup) {
    this.#connection = connection;
    this.#setup = setup;
  }

  async start(): Promise<void> {
    const { client } = this.#connection;
    // The client's middleware is plain JS; see WithMiddleware.
    (client as typeof client & WithMiddleware).middleware.use((ctx, next) =>
      this.#route(ctx, next),
    );
    client.on('online', () => void this.#backOnline());
    await this.#announce();
  }

  running(): number {
    return this.#running;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutDown();
    return this.#stopping;
  }

  async #shutDown(): Promise<void> {
    const runs = [...this.#runs.values()];
    for (const run of runs) {
      run.abort.abort(new WfeError('SHUTTING_DOWN', 'the agent is stopping'));
    }
    await Promise.all(runs.map((run) => run.ended));
    await this.#connection.stop();
  }

  // Messages to a bare JID are dropped until initial presence is sent.
  // The directed one reaches the controller without a roster entry.
  async #announce(): Promise<void> {
    await this.#connection.client.send(xml('presence'));
    await this.#connection.client.send(
      xml('presence', { to: this.#setup.controller }),
    );
  }

  async #backOnline(): Promise<void> {
    // Answers to iqs of the lost link will never come; all go again.
    this.#unanswered.clear();
    try {
      await this.#announce();
    } catch (err) {
      this.#setup.logger.warn({ err }, 'presence not sent after reconnect');
      return;
    }
    for (const run of this.#runs.values()) {
      if (run.done) this.#sendDone(run);
    }
  }

  async #route(ctx: IncomingContext, next: () => Promise<unknown>) {
    const { stanza, element } = ctx;
    const id = stanza.attrs.id ?? '';
    if (stanza.name === 'presence') {
      this.#presenceFrom(ctx);
      return next();
    }
    if (stanza.name === 'iq' && this.#unanswered.has(id)) {
      this.#doneAnswered(ctx, id);
      return undefined;
    }
    if (stanza.name !== 'iq' || element?.attrs.xmlns !== AGENT_NS) {
      return next();
    }

    const answer = this.#answer(ctx, element);
    // A truthy non-element is the client's way to send an empty result.
    return answer === null ? {} : refusalElement(answer);
  }

  /**
   * A controller that comes online asks agents where they are with a
   * directed presence; the answer tells it this agent is here.
   */
  #presenceFrom(ctx: IncomingContext): void {
    const from = ctx.from;
    const available = ctx.stanza.attrs.type === undefined;
    if (!available || from?.bare().toString() !== this.#setup.controller) {
      return;
    }
    this.#connection.client
      .send(xml('presence', { to: from.toString() }))
      .catch((err: unknown) =>
        this.#setup.logger.debug({ err }, 'presence to controller not sent'),
      );
  }

  #answer(ctx: IncomingContext, element: Element): Answer {
    const from = ctx.from?.toString() ?? '';
    if (ctx.from?.bare().toString() !== this.#setup.controller) {
      this.#setup.logger.warn(
        { from, payload: element.name },
        'agent payload from a JID other than the controller refused',
      );
      return refusal(
        'NOT_AUTHORIZED',
        `${from} is not this agent's controller`,
      );
    }
    if (ctx.type !== 'set') {
      return refusal('BAD_PAYLOAD', `<${element.name}> must come in an iq set`);
    }

    let payload: Payload;
    try {
      payload = decodePayload(element.name, element.text());
    } catch (err) {
      const { code, message } = toErrorInfo(err, 'BAD_PAYLOAD');
      return { code, message };
    }

    switch (payload.name) {
      case 'run':
        return this.#accept(payload.body, from);
      case 'kill':
        return this.#kill(payload.body.jobId, payload.body.reason, from);
      case 'replay':
        return this.#replay(payload.body, from);
      default:
        return refusal(
          'BAD_PAYLOAD',
          `an agent takes run, kill and replay, not <${payload.name}>`,
        );
    }
  }

  #accept(request: RunRequest, replyTo: string): Answer {
    const { jobId } = request;
    if (this.#stopping) {
      return refusal('SHUTTING_DOWN', 'the agent is stopping');
    }
    // A repeated request (a retry after a lost answer) must not run the
    // script a second time, nor replace a result not yet acknowledged.
    if (this.#runs.has(jobId)) {
      return refusal('RUN_IN_PROGRESS', `job ${jobId} is already here`);
    }
    if (this.#running >= this.#setup.concurrency) {
      return refusal(
        'AGENT_BUSY',
        `the agent runs ${this.#running} scripts, its limit`,
      );
    }

    const run: Run = {
      jobId,
      replyTo,
      abort: new AbortController(),
      chunks: [],
      done: null,
      ended: Promise.resolve(),
    };
    this.#runs.set(jobId, run);
    this.#running += 1;
    run.ended = this.#execute(run, request).then((done) => {
      this.#running -= 1;
      run.done = done;
      this.#sendDone(run);
    });
    return null;
  }

  #kill(jobId: string, reason: string, from: string): Answer {
    const run = this.#runs.get(jobId);
    if (!run || run.done) {
      this.#setup.logger.debug({ jobId }, 'kill for no running rscript');
      return null;
    }
    run.replyTo = from;
    this.#setup.logger.info({ jobId, reason }, 'rscript kill');
    run.abort.abort(new WfeError('SCRIPT_CANCELLED', reason));
    return null;
  }

  #replay({ jobId, fromSeq }: AgentReplay, from: string): Answer {
    const run = this.#runs.get(jobId);
    if (!run) {
      return refusal('UNKNOWN_JOB', `no run of job ${jobId} is kept here`);
    }

    // The controller may be back under another resource.
    run.replyTo = from;
    // After the answer, which the client sends when this returns.
    setImmediate(() => {
      for (const chunk of run.chunks.slice(fromSeq - 1)) {
        this.#sendOutput(run, chunk);
      }
      if (run.done) this.#sendDone(run);
    });
    return null;
  }

  async #execute(run: Run, request: RunRequest): Promise<AgentDone> {
    const { jobId, name } = request;
    const { logger } = this.#setup;
    let folder: string | undefined;
    try {
      await mkdir(this.#setup.workDir, { recursive: true });
      // mkdtemp makes the folder 0700: others cannot read or swap the
      // script. It keeps its base name, whose extension tells the language.
      folder = await mkdtemp(join(this.#setup.workDir, 'wfe-agent-'));
      const file = join(folder, name);
      await writeFile(file, request.source, { mode: 0o600 });

      logger.info({ jobId, name }, 'rscript started');
      const streamed = { stdout: 0, stderr: 0 };
      const outcome = await runScript({
        file,
        language: request.language,
        params: request.params,
        timeoutMs: request.timeoutMs,
        signal: run.abort.signal,
        onOutput: (stream, text) => {
          streamed[stream] += text.length;
          this.#emit(run, stream, text);
        },
      });

      // The executor adds its truncation marker to the outcome only.
      for (const stream of STREAMS) {
        this.#emit(run, stream, outcome[stream].slice(streamed[stream]));
      }
      const { stdout: _out, stderr: _err, ...ending } = outcome;
      logger.info(
        {
          jobId,
          name,
          exitCode: outcome.exitCode,
          signal: outcome.signal,
          durationMs: outcome.durationMs,
        },
        'rscript finished',
      );
      return fitted({ ...ending, jobId, chunks: run.chunks.length });
    } catch (err) {
      logger.warn({ err, jobId, name }, 'rscript could not run');
      return failedRun(jobId, run.chunks.length, err);
    } finally {
      if (folder !== undefined) {
        await rm(folder, { recursive: true, force: true }).catch(
          (err: unknown) =>
            logger.warn({ err, folder }, 'rscript folder not removed'),
        );
      }
    }
  }

  #emit(run: Run, stream: 'stdout' | 'stderr', text: string): void {
    for (const piece of splitUtf8(text, CHUNK_BYTES)) {
      const chunk = {
        jobId: run.jobId,
        seq: run.chunks.length + 1,
        stream,
        chunk: piece,
      };
      run.chunks.push(chunk);
      this.#sendOutput(run, chunk);
    }
  }

  // A chunk that cannot go now is kept; the controller asks for a replay.
  #sendOutput(run: Run, chunk: AgentOutputChunk): void {
    const { client } = this.#connection;
    if (client.status !== 'online') return;
    const message = xml(
      'message',
      { to: run.replyTo },
      payloadElement({ name: 'output', body: chunk }),
    );
    client.send(message).catch((err: unknown) => {
      this.#setup.logger.debug({ err, jobId: run.jobId }, 'output not sent');
    });
  }

  /**
   * Sends done. There is no deadline: an unanswered done is kept until the
   * controller asks for it (replay) or the link comes back (sent again).
   */
  #sendDone(run: Run): void {
    const { client } = this.#connection;
    if (!run.done || client.status !== 'online') return;

    const id = `done-${randomUUID()}`;
    const iq = xml(
      'iq',
      { type: 'set', id, to: run.replyTo },
      payloadElement({ name: 'done', body: run.done }),
    );
    this.#unanswered.set(id, run);
    client.send(iq).catch((err: unknown) => {
      this.#unanswered.delete(id);
      this.#setup.logger.debug({ err, jobId: run.jobId }, 'done not sent');
    });
  }

  /** A result acknowledges the run, which is then forgotten. */
  #doneAnswered(ctx: IncomingContext, id: string): void {
    const { logger, controller } = this.#setup;
    const run = this.#unanswered.get(id)!;
    if (ctx.from?.bare().toString() !== controller) {
      logger.warn({ from: ctx.from?.toString() }, 'answer to done ignored');
      return;
    }
    this.#unanswered.delete(id);

    if (ctx.type !== 'result') {
      logger.info(
        { jobId: run.jobId, to: run.replyTo },
        'rscript result refused; kept until asked or back online',
      );
      return;
    }
    if (this.#runs.get(run.jobId) === run) {
      this.#runs.delete(run.jobId);
      logger.debug({ jobId: run.jobId }, 'rscript result acknowledged');
    }
  }
}

/** Cuts text into pieces of at most maxBytes UTF-8 bytes, between characters. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (text === '') return [];
  if (Buffer.byteLength(text) <= maxBytes) return [text];

  const bytes = Buffer.from(text);
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // Back off continuation bytes (10xxxxxx) so no character is cut.
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    pieces.push(bytes.toString('utf8', start, end));
    start = end;
  }
  return pieces;
}

function refusal(code: string, message: string): AgentRefusal {
  return { code, message };
}

/** A done that fits in one payload: a huge result is replaced by an error. */
function fitted(done: AgentDone): AgentDone {
  try {
    encodePayload({ name: 'done', body: done });
    return done;
  } catch (err) {
    const { code, message } = toErrorInfo(err);
    return { ...done, result: null, error: { code, message } };
  }
}

function failedRun(jobId: string, chunks: number, err: unknown): AgentDone {
  const { code, message } = toErrorInfo(err, 'SCRIPT_FAILED');
  return {
    jobId,
    exitCode: null,
    signal: null,
    result: null,
    resultError: null,
    durationMs: 0,
    timedOut: false,
    cancelled: false,
    truncated: { stdout: false, stderr: false },
    chunks,
    error: { code, message },
  };
}

function bareJid(address: string): string {
  try {
    const parsed = parseJid(address);
    if (parsed.local === '') throw new Error('no local part');
    return parsed.bare().toString();
  } catch (err) {
    throw new WfeError(
      'BAD_CONFIG',
      `the controller must be a JID like user@domain, got ${JSON.stringify(address)}`,
      { cause: err },
    );
  }
}
