import { fromCallback, type AnyActorRef } from 'xstate';

import {
  DEFAULT_SCRIPT_TIMEOUT_MS,
  type AgentKill,
  type AgentOutputChunk,
  type AgentRunReply,
  type AgentRunRequest,
} from '../runtime/agent/protocol.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { toWfeError, WfeError } from '../runtime/errors.js';
import type { Logger } from '../runtime/log.js';
import type { Mailbox } from '../runtime/mailbox.js';
import type {
  AgentDone,
  AgentRefusal,
  AgentReplay,
} from '../runtime/xmpp/protocol.js';
import { RunOutput } from './run-output.js';

/**
 * The agent controller's actor for one agent: it queues the runs sent to
 * the agent, keeps at most `concurrency` of them in flight, and turns the
 * agent's silence into errors: AGENT_UNAVAILABLE when it never comes
 * online, AGENT_LOST when it goes away mid-script and stays away.
 */

/** How the proxy reaches its agent; the controller speaks XMPP for it. */
export interface AgentLink {
  /** Sends a `run` iq; rejects only when the iq got no answer at all. */
  run(to: string, request: AgentRunRequest): Promise<RunAnswer>;
  kill(to: string, order: AgentKill): Promise<void>;
  replay(to: string, replay: AgentReplay): Promise<void>;
}

export type RunAnswer =
  { accepted: true } | { accepted: false; refusal: AgentRefusal };

/** A run waiting for its outcome, and where its output goes. */
export interface RunTicket {
  request: AgentRunRequest;
  /** Gets the output in order, numbered 1, 2, 3… without gaps. */
  onChunk(chunk: AgentOutputChunk): void;
  resolve(reply: AgentRunReply): void;
  reject(error: WfeError): void;
}

/**
 * How to answer a `done` iq: `ack` takes the result; `forget` tells the
 * agent nobody waits for it; a refusal makes the agent keep it.
 */
export type DoneVerdict = 'ack' | 'forget' | { refused: AgentRefusal };

/** What the controller puts in a proxy's mailbox. */
export type AgentProxyMessage =
  | { type: 'run'; ticket: RunTicket }
  | { type: 'kill'; jobId: string; reason: string }
  | { type: 'presence'; from: string; online: boolean }
  | { type: 'output'; from: string; chunk: AgentOutputChunk }
  | {
      type: 'done';
      from: string;
      done: AgentDone;
      answer(verdict: DoneVerdict): void;
    };

/** Answers and timers, sent by the proxy to itself. */
type InternalEvent =
  | { type: 'proxy.answered'; jobId: string; answer: RunAnswer }
  | { type: 'proxy.unsent'; jobId: string; error: unknown }
  | { type: 'proxy.timer'; jobId: string; timer: RunTimer }
  | { type: 'proxy.retry' };

type ProxyEvent = AgentProxyMessage | InternalEvent;

type RunTimer = 'start' | 'grace' | 'deadline';

export interface AgentProxyInput {
  /** The agent's bare JID. */
  agent: string;
  /** Outlives the actor, so a restarted proxy finds what was waiting. */
  mailbox: Mailbox<AgentProxyMessage>;
  link: AgentLink;
  /** The agent's full JIDs online now; a (re)started proxy starts there. */
  presence(): string[];
  concurrency: number;
  startTimeoutMs: number;
  lostGraceMs: number;
  clock: Clock;
  logger: Logger;
  /** Told the number of runs in flight whenever it changes. */
  onRunning?(running: number): void;
}

// The agent's own timeout ends the script; past this margin its answer
// is presumed lost. It stays below the worker's bus margin (15 s).
const DEADLINE_MARGIN_MS = 10_000;
// An agent that refuses for being busy is asked again after this long.
const RETRY_MS = 1000;
// A done whose output is still incomplete after this many replays is
// taken as it is, with a note of what is missing.
const MAX_REPLAYS = 3;

interface Run {
  ticket: RunTicket;
  phase: 'queued' | 'starting' | 'running';
  /** The full JID the run went to; results come from its bare JID. */
  sentTo: string | null;
  timers: Partial<Record<RunTimer, TimerHandle>>;
  killReason: string | null;
  output: RunOutput;
  replays: number;
}

export const agentProxyLogic = fromCallback<ProxyEvent, AgentProxyInput>(
  ({ input, self, receive }) => {
    const proxy = new AgentProxy(input, self);
    input.mailbox.consume(() => {
      for (const message of input.mailbox.take()) proxy.post(message);
    });

    receive((event) => {
      try {
        proxy.handle(event);
      } catch (err) {
        // XState does not clean up a failed callback actor; we must.
        proxy.stop(toWfeError(err, 'AGENT_PROXY_FAILED'));
        throw err;
      }
    });

    return () =>
      proxy.stop(
        new WfeError('SHUTTING_DOWN', 'the agent controller is closing', {
          retryable: true,
        }),
      );
  },
);

class AgentProxy {
  readonly #input: AgentProxyInput;
  readonly #self: AnyActorRef;
  readonly #log: Logger;
  readonly #runs = new Map<string, Run>();
  readonly #queue: Run[] = [];
  readonly #online: Set<string>;
  #retryTimer: TimerHandle | null = null;
  #stopped = false;

  constructor(input: AgentProxyInput, self: AnyActorRef) {
    this.#input = input;
    this.#self = self;
    this.#log = input.logger.child({ agent: input.agent });
    this.#online = new Set(input.presence());
  }

  /** Sends an event through the actor, unless it has stopped. */
  post(event: ProxyEvent): void {
    if (!this.#stopped) this.#self.send(event);
  }

  handle(event: ProxyEvent): void {
    switch (event.type) {
      case 'run':
        return this.#enqueue(event.ticket);
      case 'kill':
        return this.#kill(event.jobId, event.reason);
      case 'presence':
        return event.online
          ? this.#cameOnline(event.from)
          : this.#wentOffline(event.from);
      case 'output':
        return this.#output(event.chunk);
      case 'done':
        return event.answer(this.#done(event.from, event.done));
      case 'proxy.answered':
        return this.#answered(event.jobId, event.answer);
      case 'proxy.unsent':
        return this.#unsent(event.jobId, event.error);
      case 'proxy.timer':
        return this.#timerFired(event.jobId, event.timer);
      case 'proxy.retry':
        this.#retryTimer = null;
        return this.#pump();
    }
  }

  /** Fails every run with `reason`; kills what is running, if it can. */
  stop(reason: WfeError): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#input.mailbox.consume(() => {});
    if (this.#retryTimer !== null) {
      this.#input.clock.clearTimeout(this.#retryTimer);
    }

    for (const run of [...this.#runs.values()]) {
      if (run.sentTo !== null && this.#online.has(run.sentTo)) {
        this.#sendKill(run, reason.message);
      }
      this.#fail(run, reason);
    }
  }

  #enqueue(ticket: RunTicket): void {
    const { jobId } = ticket.request;
    if (this.#runs.has(jobId)) {
      ticket.reject(
        new WfeError(
          'RUN_IN_PROGRESS',
          `an rscript for job ${jobId} is already running`,
          { details: { jobId } },
        ),
      );
      return;
    }

    const run: Run = {
      ticket,
      phase: 'queued',
      sentTo: null,
      timers: {},
      killReason: null,
      output: new RunOutput((seq, stream, chunk) =>
        ticket.onChunk({ jobId, seq, stream, chunk }),
      ),
      replays: 0,
    };
    this.#runs.set(jobId, run);
    this.#queue.push(run);
    if (this.#online.size === 0) this.#startTimer(run, 'start');
    this.#pump();
  }

  /** Sends queued runs while the agent is online and has room. */
  #pump(): void {
    const to = [...this.#online].at(-1);
    while (
      to !== undefined &&
      this.#retryTimer === null &&
      this.#queue.length > 0 &&
      this.#inFlight() < this.#input.concurrency
    ) {
      this.#send(this.#queue.shift()!, to);
    }
  }

  #send(run: Run, to: string): void {
    const { jobId } = run.ticket.request;
    this.#clearTimer(run, 'start');
    run.phase = 'starting';
    run.sentTo = to;
    this.#reportRunning();

    this.#input.link.run(to, run.ticket.request).then(
      (answer) => this.post({ type: 'proxy.answered', jobId, answer }),
      (error: unknown) => this.post({ type: 'proxy.unsent', jobId, error }),
    );
  }

  #answered(jobId: string, answer: RunAnswer): void {
    const run = this.#runs.get(jobId);
    if (run?.phase !== 'starting') return;

    // A repeated run (after a lost answer) finds the first one running.
    if (answer.accepted || answer.refusal.code === 'RUN_IN_PROGRESS') {
      this.#accepted(run);
      return;
    }

    if (answer.refusal.code === 'AGENT_BUSY') {
      this.#log.info({ jobId }, 'agent busy; run waits');
      this.#requeue(run);
      return;
    }

    this.#fail(
      run,
      new WfeError(
        answer.refusal.code,
        `agent ${this.#input.agent} refused job ${jobId}: ` +
          answer.refusal.message,
        { details: { agent: this.#input.agent, jobId } },
      ),
    );
  }

  #accepted(run: Run): void {
    const { request } = run.ticket;
    run.phase = 'running';
    const timeoutMs = request.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
    this.#startTimer(run, 'deadline', timeoutMs + DEADLINE_MARGIN_MS);
    if (run.killReason !== null) this.#sendKill(run, run.killReason);
    this.#log.info({ jobId: request.jobId, to: run.sentTo }, 'run accepted');
  }

  /**
   * No answer to the run iq: the agent may have it or not. Sending it
   * again is safe, since a second copy is refused as RUN_IN_PROGRESS.
   */
  #unsent(jobId: string, error: unknown): void {
    const run = this.#runs.get(jobId);
    if (run?.phase !== 'starting') return;

    this.#log.warn({ jobId, err: error }, 'run not delivered; run waits');
    this.#requeue(run);
  }

  #requeue(run: Run): void {
    if (run.killReason !== null) {
      this.#fail(run, cancelled(run, run.killReason));
      return;
    }

    run.phase = 'queued';
    run.sentTo = null;
    this.#queue.unshift(run);
    this.#reportRunning();
    if (this.#online.size === 0) this.#startTimer(run, 'start');
    if (this.#retryTimer === null) {
      this.#retryTimer = this.#input.clock.setTimeout(
        () => this.post({ type: 'proxy.retry' }),
        RETRY_MS,
      );
    }
  }

  #kill(jobId: string, reason: string): void {
    const run = this.#runs.get(jobId);
    if (!run) {
      this.#log.debug({ jobId }, 'kill for no run of this agent');
      return;
    }

    if (run.phase === 'queued') {
      this.#queue.splice(this.#queue.indexOf(run), 1);
      this.#fail(run, cancelled(run, reason));
      return;
    }

    // The agent ends the script and reports a cancelled outcome.
    run.killReason = reason;
    if (run.phase === 'running') this.#sendKill(run, reason);
  }

  #sendKill(run: Run, reason: string): void {
    const { jobId } = run.ticket.request;
    this.#input.link
      .kill(run.sentTo!, { jobId, reason })
      .catch((err: unknown) =>
        this.#log.warn({ jobId, err }, 'kill not delivered'),
      );
  }

  #sendReplay(run: Run, to: string): void {
    const { jobId } = run.ticket.request;
    this.#input.link
      .replay(to, { jobId, fromSeq: run.output.next })
      .catch((err: unknown) =>
        this.#log.warn({ jobId, err }, 'replay not delivered'),
      );
  }

  #cameOnline(from: string): void {
    this.#online.add(from);

    for (const run of this.#runs.values()) {
      if (run.phase === 'queued') this.#clearTimer(run, 'start');
      if (run.sentTo !== from || run.timers.grace === undefined) continue;

      this.#clearTimer(run, 'grace');
      this.#log.info({ jobId: run.ticket.request.jobId }, 'agent is back');
      if (run.killReason !== null) this.#sendKill(run, run.killReason);
      // Output and a done sent while either side was away are lost; the
      // agent kept them and sends them again.
      if (run.phase === 'running') this.#sendReplay(run, from);
    }
    this.#pump();
  }

  /**
   * Runs sent to that connection get a grace period: the agent keeps its
   * results over a reconnect, so coming back in time loses nothing.
   */
  #wentOffline(from: string): void {
    if (!this.#online.delete(from)) return;

    for (const run of this.#runs.values()) {
      if (run.phase === 'queued' && this.#online.size === 0) {
        this.#startTimer(run, 'start');
      } else if (run.phase !== 'queued' && run.sentTo === from) {
        this.#startTimer(run, 'grace');
      }
    }
  }

  #output(chunk: AgentOutputChunk): void {
    const run = this.#runs.get(chunk.jobId);
    if (run === undefined || run.phase === 'queued') {
      this.#log.warn({ jobId: chunk.jobId }, 'output for no run dropped');
      return;
    }

    run.output.add(chunk);
  }

  /**
   * Takes a result, or asks for the output still missing first: the
   * refusal makes the agent keep the result, and the replay makes it
   * send the output again and then the result.
   */
  #done(from: string, done: AgentDone): DoneVerdict {
    const run = this.#runs.get(done.jobId);
    if (run === undefined || run.phase === 'queued') {
      this.#log.warn({ jobId: done.jobId, from }, 'done for no run dropped');
      return 'forget';
    }

    const missing = run.output.missing(done.chunks);
    if (missing > 0 && run.replays < MAX_REPLAYS) {
      run.replays += 1;
      this.#sendReplay(run, from);
      return {
        refused: {
          code: 'OUTPUT_INCOMPLETE',
          message: `output from seq ${run.output.next} is missing; replay asked`,
        },
      };
    }

    if (missing > 0) {
      const lost = run.output.closeWithGaps(done.chunks);
      this.#log.warn({ jobId: done.jobId, lost }, 'output lost');
    }
    this.#finish(run, done);
    return 'ack';
  }

  #finish(run: Run, done: AgentDone): void {
    const { jobId } = run.ticket.request;
    this.#forget(run);
    this.#log.info(
      { jobId, exitCode: done.exitCode, signal: done.signal },
      'run finished',
    );

    if (done.error !== undefined) {
      run.ticket.reject(
        new WfeError(done.error.code, done.error.message, {
          details: { agent: this.#input.agent, jobId },
        }),
      );
      return;
    }

    const { chunks: _chunks, jobId: _jobId, error: _error, ...outcome } = done;
    run.ticket.resolve({
      ...outcome,
      stdout: run.output.text('stdout'),
      stderr: run.output.text('stderr'),
      chunks: run.output.emitted,
    });
  }

  #timerFired(jobId: string, timer: RunTimer): void {
    const run = this.#runs.get(jobId);
    if (run === undefined || run.timers[timer] === undefined) return;
    delete run.timers[timer];
    const { agent, startTimeoutMs, lostGraceMs } = this.#input;

    if (timer === 'start') {
      this.#queue.splice(this.#queue.indexOf(run), 1);
      this.#fail(
        run,
        new WfeError(
          'AGENT_UNAVAILABLE',
          `agent ${agent} did not come online within ${startTimeoutMs} ms`,
          { retryable: true, details: { agent, jobId } },
        ),
      );
      return;
    }

    const why =
      timer === 'grace'
        ? `went offline and was not back within ${lostGraceMs} ms`
        : 'sent no result before the script deadline';
    if (timer === 'deadline') this.#sendKill(run, 'no result in time');
    this.#fail(
      run,
      new WfeError('AGENT_LOST', `agent ${agent} ${why} (job ${jobId})`, {
        retryable: true,
        details: { agent, jobId },
      }),
    );
  }

  #fail(run: Run, error: WfeError): void {
    this.#forget(run);
    this.#log.warn(
      { jobId: run.ticket.request.jobId, code: error.code },
      'run failed',
    );
    run.ticket.reject(error);
  }

  /** Drops a run that has ended and lets the next one go. */
  #forget(run: Run): void {
    for (const timer of Object.keys(run.timers) as RunTimer[]) {
      this.#clearTimer(run, timer);
    }
    this.#runs.delete(run.ticket.request.jobId);
    this.#reportRunning();
    if (!this.#stopped) this.#pump();
  }

  #startTimer(run: Run, timer: RunTimer, ms?: number): void {
    if (run.timers[timer] !== undefined) return;
    const { jobId } = run.ticket.request;
    const delay =
      ms ??
      (timer === 'start'
        ? this.#input.startTimeoutMs
        : this.#input.lostGraceMs);
    run.timers[timer] = this.#input.clock.setTimeout(
      () => this.post({ type: 'proxy.timer', jobId, timer }),
      delay,
    );
  }

  #clearTimer(run: Run, timer: RunTimer): void {
    const handle = run.timers[timer];
    if (handle === undefined) return;
    this.#input.clock.clearTimeout(handle);
    delete run.timers[timer];
  }

  #inFlight(): number {
    let count = 0;
    for (const run of this.#runs.values()) if (run.phase !== 'queued') count++;
    return count;
  }

  #reportRunning(): void {
    this.#input.onRunning?.(this.#inFlight());
  }
}

function cancelled(run: Run, reason: string): WfeError {
  return new WfeError(
    'SCRIPT_CANCELLED',
    `script ${run.ticket.request.name} was not started: ${reason}`,
  );
}
