import { tmpdir } from 'node:os';

import { xml, type Element, type IqContext } from '@xmpp/client';
import { createActor, type AnyActorRef } from 'xstate';

import {
  agentProxyLogic,
  type AgentLink,
  type AgentProxyInput,
  type AgentProxyMessage,
  type DoneVerdict,
  type RunAnswer,
} from '../../actors/agent-proxy.js';
import { supervisorMachine } from '../../actors/supervisor.js';
import {
  serveAgents,
  type AgentController,
  type RemoteAgents,
} from '../agent/controller.js';
import type { AgentRunReply, AgentRunRequest } from '../agent/protocol.js';
import type { Bus } from '../bus/types.js';
import { systemClock, type Clock } from '../clock.js';
import { toErrorInfo, WfeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Inspect } from '../inspection.js';
import { Mailbox, type MailboxStats } from '../mailbox.js';
import { connectXmpp, type XmppConnection } from './connect.js';
import type { XmppOptions } from './options.js';
import {
  AGENT_NS,
  decodePayload,
  type AgentRefusal,
  type Payload,
} from './protocol.js';
import { payloadElement, refusalElement, refusalOf } from './stanzas.js';

/** The login (the JID is the one agents obey), and how runs are kept. */
export interface XmppAgentControllerOptions extends XmppOptions {
  bus: Bus;
  logger: Logger;
  /** Runs of the 'local' agent get a private folder below this one. */
  tmpDir?: string;
  /** How long a run waits for its agent to come online. @default 30_000 */
  startTimeoutMs?: number;
  /** How long an agent may be away mid-script. @default 30_000 */
  lostGraceMs?: number;
  /** Runs in flight on one agent; more wait in its queue. @default 4 */
  concurrencyPerAgent?: number;
  /** Messages waiting for one agent's proxy. @default 10_000 */
  mailboxCapacity?: number;
  clock?: Clock;
  /** Reports the proxies' inspection events. */
  inspect?: Inspect;
}

export interface AgentInfo {
  /** The agent's bare JID: what tasklets name it by. */
  id: string;
  online: boolean;
  /** Runs sent to it and not yet ended. */
  running: number;
  /** When the agent was last heard of (ms since the epoch), or null. */
  lastSeen: number | null;
}

export interface XmppAgentController extends AgentController {
  agents(): AgentInfo[];
  /** The supervisor of the agent proxies, for the inspector. */
  readonly supervisor: AnyActorRef;
  /** The proxies' mailboxes. */
  mailboxes(): MailboxStats[];
}

interface AgentEntry {
  mailbox: Mailbox<AgentProxyMessage>;
  /** Its full JIDs that are online. */
  online: Set<string>;
  running: number;
  lastSeen: number | null;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_LOST_GRACE_MS = 30_000;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_MAILBOX_CAPACITY = 10_000;
// An iq to an agent that is not there is answered by the server at once;
// this is for one whose link died without the server noticing yet.
const IQ_TIMEOUT_MS = 10_000;
// A proxy answers a `done` within a tick; this only guards a broken one.
const DONE_ANSWER_MS = 10_000;
// @xmpp/iq answers a truthy non-element with an empty result; the shared
// declaration of the client does not allow for it.
const EMPTY_RESULT = {} as unknown as Element;

/**
 * The agent controller with remote agents: logs into XMPP, follows the
 * agents' presence, runs one supervised agent-proxy actor per agent, and
 * serves the bus's AGENT_RUN requests — 'local' on this host, any other
 * agent (its bare JID, or a name on the controller's domain) over XMPP.
 *
 * The controller learns presence from the agents it is subscribed to (a
 * roster both ways, or a shared roster group on the server) and from any
 * presence an agent sends it directly.
 */
export async function startAgentController(
  options: XmppAgentControllerOptions,
): Promise<XmppAgentController> {
  const { bus: _bus, logger, ...login } = options;
  const connection = await connectXmpp(
    {
      url: login.url,
      jid: login.jid,
      password: login.password,
      resource: login.resource,
      caFile: login.caFile,
      starttls: login.starttls,
      timeoutMs: login.timeoutMs,
    },
    logger,
  );
  const controller = new XmppController(connection, options);
  await controller.start();

  const agents = serveAgents(options.bus, {
    logger: options.logger,
    tmpDir: options.tmpDir ?? tmpdir(),
    remote: controller,
  });

  let closing: Promise<void> | null = null;
  return {
    agents: () => controller.agents(),
    supervisor: controller.supervisor,
    mailboxes: () => controller.mailboxes(),
    running: () => agents.running(),
    close: () =>
      (closing ??= (async () => {
        // Proxies first: their runs end at once instead of waiting for
        // agents to report kills.
        controller.stopProxies();
        await agents.close();
        await controller.close();
      })()),
  };
}

class XmppController implements RemoteAgents {
  readonly #connection: XmppConnection;
  readonly #options: XmppAgentControllerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #bare: string;
  readonly #domain: string;
  readonly #agents = new Map<string, AgentEntry>();
  readonly #supervisor;
  #closing = false;

  constructor(connection: XmppConnection, options: XmppAgentControllerOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#log = options.logger.child({ component: 'agent-controller' });
    this.#clock = options.clock ?? systemClock;
    this.#bare = bareOf(connection.jid);
    this.#domain = this.#bare.split('@')[1]!;
    this.#supervisor = createActor(supervisorMachine, {
      inspect: options.inspect as never,
      input: {
        name: 'agent-controller',
        logger: this.#log,
        clock: this.#clock,
      },
    });
  }

  async start(): Promise<void> {
    this.#supervisor.subscribe({
      error: (err) =>
        this.#log.error({ err }, 'agent proxies failed too often'),
    });
    this.#supervisor.start();

    const { client } = this.#connection;
    client.on('stanza', (stanza) => this.#stanza(stanza));
    client.iqCallee.set(AGENT_NS, 'done', (context) => this.#done(context));
    client.on('status', (status) => {
      if (status === 'disconnect') this.#lostOwnLink();
    });
    client.on('online', () => {
      this.#announce().catch((err: unknown) =>
        this.#log.warn({ err }, 'presence not sent after reconnect'),
      );
    });
    await this.#announce();
  }

  agents(): AgentInfo[] {
    return [...this.#agents].map(([id, entry]) => ({
      id,
      online: entry.online.size > 0,
      running: entry.running,
      lastSeen: entry.lastSeen,
    }));
  }

  get supervisor(): AnyActorRef {
    return this.#supervisor;
  }

  mailboxes(): MailboxStats[] {
    return [...this.#agents.values()].map((entry) => entry.mailbox.stats());
  }

  run(
    request: AgentRunRequest,
    onChunk: Parameters<RemoteAgents['run']>[1],
    signal: AbortSignal,
  ): Promise<AgentRunReply> {
    if (this.#closing) {
      throw new WfeError('SHUTTING_DOWN', 'the agent controller is closing', {
        retryable: true,
      });
    }
    const entry = this.#entry(this.#agentId(request.agent));

    return new Promise<AgentRunReply>((resolve, reject) => {
      const ticket = { request, onChunk, resolve, reject };
      entry.mailbox.send({ type: 'run', ticket });
      signal.addEventListener(
        'abort',
        () => {
          const reason = reasonText(signal.reason);
          this.#deliver(entry, { type: 'kill', jobId: request.jobId, reason });
        },
        { once: true },
      );
    });
  }

  /** Ends every proxy; their runs fail with SHUTTING_DOWN. */
  stopProxies(): void {
    this.#closing = true;
    this.#supervisor.stop();
  }

  async close(): Promise<void> {
    this.stopProxies();
    await this.#connection.stop();
  }

  // What the proxies send, through their AgentLink.

  async #sendRun(to: string, request: AgentRunRequest): Promise<RunAnswer> {
    const { agent: _agent, ...body } = request;
    try {
      await this.#request(to, { name: 'run', body });
      return { accepted: true };
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal === null) throw err;
      return { accepted: false, refusal };
    }
  }

  readonly #link: AgentLink = {
    run: (to, request) => this.#sendRun(to, request),
    kill: (to, body) => this.#request(to, { name: 'kill', body }),
    replay: (to, body) => this.#request(to, { name: 'replay', body }),
  };

  async #request(to: string, payload: Payload): Promise<void> {
    const iq = xml('iq', { type: 'set', to }, payloadElement(payload));
    await this.#connection.client.iqCaller.request(iq, IQ_TIMEOUT_MS);
  }

  /** Initial presence, and a directed one to each agent known. */
  async #announce(): Promise<void> {
    const { client } = this.#connection;
    await client.send(xml('presence'));
    for (const agent of this.#agents.keys()) {
      await client.send(xml('presence', { to: agent }));
    }
  }

  /** Our own link is down: no agent can be reached until it is back. */
  #lostOwnLink(): void {
    for (const entry of this.#agents.values()) {
      for (const from of [...entry.online]) this.#presence(entry, from, false);
    }
  }

  #stanza(stanza: Element): void {
    const from = stanza.attrs.from;
    if (from === undefined || bareOf(from) === this.#bare) return;

    if (stanza.name === 'presence') this.#presenceStanza(stanza, from);
    if (stanza.name === 'message') this.#message(stanza, from);
  }

  #presenceStanza(stanza: Element, from: string): void {
    const bare = bareOf(from);
    if (bare.split('@')[1] !== this.#domain) return;
    const { type } = stanza.attrs;

    if (type === 'subscribe') {
      // Agents of our domain may follow us, and we follow them back.
      const { client } = this.#connection;
      void client.send(xml('presence', { to: bare, type: 'subscribed' }));
      void client.send(xml('presence', { to: bare, type: 'subscribe' }));
      return;
    }
    if (type !== undefined && type !== 'unavailable') return;

    const entry = this.#entry(bare);
    entry.lastSeen = this.#clock.now();
    if (type === undefined) {
      if (from !== bare) this.#presence(entry, from, true);
      return;
    }
    // An unavailable from the bare JID (a probe's answer) means all gone.
    const gone = from === bare ? [...entry.online] : [from];
    for (const jid of gone) this.#presence(entry, jid, false);
  }

  #presence(entry: AgentEntry, from: string, online: boolean): void {
    if (online === entry.online.has(from)) return;
    if (online) entry.online.add(from);
    else entry.online.delete(from);
    this.#log.info({ agent: from, online }, 'agent presence');
    this.#deliver(entry, { type: 'presence', from, online });
  }

  #message(stanza: Element, from: string): void {
    const element = stanza.getChild('output', AGENT_NS);
    if (element === undefined) return;

    const entry = this.#agents.get(bareOf(from));
    let payload: Payload;
    try {
      payload = decodePayload('output', element.text());
    } catch (err) {
      this.#log.warn({ from, err }, 'bad output payload dropped');
      return;
    }
    if (entry === undefined || payload.name !== 'output') {
      this.#log.warn({ from }, 'output from an unknown agent dropped');
      return;
    }

    entry.lastSeen = this.#clock.now();
    this.#deliver(entry, { type: 'output', from, chunk: payload.body });
  }

  async #done(context: IqContext): Promise<Element> {
    const from = context.from?.toString() ?? '';
    let payload: Payload;
    try {
      payload = decodePayload(context.element.name, context.element.text());
    } catch (err) {
      const { code, message } = toErrorInfo(err, 'BAD_PAYLOAD');
      this.#log.warn({ from, code }, 'bad done payload refused');
      return refusalElement({ code, message });
    }

    const entry = this.#agents.get(bareOf(from));
    if (entry === undefined || payload.name !== 'done') {
      this.#log.warn({ from }, 'done from an unknown agent dropped');
      return EMPTY_RESULT;
    }
    entry.lastSeen = this.#clock.now();

    const done = payload.body;
    const verdict = await new Promise<DoneVerdict>((resolve) => {
      const timer = this.#clock.setTimeout(
        () => resolve({ refused: busy('the agent proxy did not answer') }),
        DONE_ANSWER_MS,
      );
      const answer = (verdict: DoneVerdict): void => {
        this.#clock.clearTimeout(timer);
        resolve(verdict);
      };
      if (!this.#deliver(entry, { type: 'done', from, done, answer })) {
        answer({ refused: busy('the agent proxy is overloaded') });
      }
    });

    if (verdict === 'forget') return EMPTY_RESULT;
    if (verdict === 'ack') {
      return payloadElement({ name: 'ack', body: { jobId: done.jobId } });
    }
    return refusalElement(verdict.refused);
  }

  /** Puts a message in a proxy's mailbox; false when it had no room. */
  #deliver(entry: AgentEntry, message: AgentProxyMessage): boolean {
    try {
      void entry.mailbox.send(message);
      return true;
    } catch (err) {
      this.#log.warn({ err, type: message.type }, 'agent message dropped');
      return false;
    }
  }

  /** The agent's entry, with its proxy started on first use. */
  #entry(agent: string): AgentEntry {
    const known = this.#agents.get(agent);
    if (known !== undefined) return known;

    const options = this.#options;
    const entry: AgentEntry = {
      mailbox: new Mailbox({
        name: `agent-proxy:${agent}`,
        capacity: options.mailboxCapacity ?? DEFAULT_MAILBOX_CAPACITY,
        overflow: 'reject',
      }),
      online: new Set(),
      running: 0,
      lastSeen: null,
    };
    this.#agents.set(agent, entry);

    const input: AgentProxyInput = {
      agent,
      mailbox: entry.mailbox,
      link: this.#link,
      presence: () => [...entry.online],
      concurrency: options.concurrencyPerAgent ?? DEFAULT_CONCURRENCY,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      lostGraceMs: options.lostGraceMs ?? DEFAULT_LOST_GRACE_MS,
      clock: this.#clock,
      logger: this.#log,
      onRunning: (running) => {
        entry.running = running;
      },
    };
    this.#supervisor.send({
      type: 'supervisor.spawn',
      child: {
        id: `agent-proxy:${agent}`,
        logic: agentProxyLogic,
        input,
        restart: 'permanent',
      },
    });

    // A cooperating agent answers a directed presence with its own.
    this.#connection.client
      .send(xml('presence', { to: agent }))
      .catch((err: unknown) =>
        this.#log.debug({ err, agent }, 'presence to agent not sent'),
      );
    return entry;
  }

  /** A tasklet's agent id as a bare JID: `name` means name@our-domain. */
  #agentId(id: string): string {
    const jid = (id.includes('@') ? id : `${id}@${this.#domain}`).toLowerCase();
    if (!/^[^@/\s]+@[^@/\s]+$/.test(jid)) {
      throw new WfeError(
        'BAD_INPUT',
        `agent id must be a name or a bare JID like name@domain, got ${id}`,
        { details: { agent: id } },
      );
    }
    if (jid.split('@')[1] !== this.#domain) {
      throw new WfeError(
        'AGENT_UNAVAILABLE',
        `agent ${jid} is not on the controller's domain ${this.#domain}`,
        { retryable: false, details: { agent: id } },
      );
    }
    return jid;
  }
}

function bareOf(jid: string): string {
  return jid.split('/')[0]!.toLowerCase();
}

function busy(message: string): AgentRefusal {
  return { code: 'AGENT_BUSY', message };
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : 'killed on request';
}
