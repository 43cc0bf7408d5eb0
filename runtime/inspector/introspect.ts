import type { AnyActorRef } from 'xstate';

import type { ChildError } from '../../actors/supervisor.js';
import type { AgentController } from '../agent/controller.js';
import type { Clock } from '../clock.js';
import type { JobRunner } from '../jobs/runner.js';
import type { Mailbox, MailboxStats } from '../mailbox.js';
import type { WorkflowHost } from '../workflows/host.js';
import { statePaths } from '../workflows/snapshots.js';
import type { XmppAgentController } from '../xmpp/controller.js';
import type { ActorKind, ActorNode, AgentView, MailboxView } from './wire.js';

/** What the engine shows of itself, read on demand and never cached. */
export interface EngineIntrospection {
  readonly startedAt: number;
  actorTree(): ActorNode;
  agents(): AgentView[];
  jobCounts(): { running: number; started: number; finished: number };
  /** Grows whenever a job starts or ends or a write is taken. */
  activity(): number;
  mailboxes(): MailboxStats[];
}

export interface IntrospectionParts {
  clock: Clock;
  root: AnyActorRef;
  rootMailbox: Mailbox<unknown>;
  writerMailbox: Mailbox<unknown> | null;
  runner: JobRunner | null;
  workflows: WorkflowHost | null;
  agents: AgentController | XmppAgentController | null;
}

/** Jobs and instances listed per group; the rest are counted. */
const LISTED = 50;

export function introspection(parts: IntrospectionParts): EngineIntrospection {
  const startedAt = parts.clock.now();

  const mailboxes = (): MailboxStats[] => [
    parts.rootMailbox.stats(),
    ...(parts.writerMailbox ? [parts.writerMailbox.stats()] : []),
    ...(xmppOf(parts.agents)?.mailboxes() ?? []),
  ];

  return {
    startedAt,
    mailboxes,
    actorTree: () => {
      const byName = new Map(mailboxes().map((stats) => [stats.name, stats]));
      const root = supervisorNode('root', parts.root, byName);
      root.children.push(
        ...[
          jobsNode(parts.runner),
          workflowsNode(parts.workflows),
          agentsNode(parts.agents, byName),
        ].filter((node) => node !== null),
      );
      return root;
    },
    agents: () => agentViews(parts.agents, parts.clock),
    jobCounts: () => ({
      running: parts.runner?.running ?? 0,
      ...(parts.runner?.counts ?? { started: 0, finished: 0 }),
    }),
    activity: () => {
      const counts = parts.runner?.counts ?? { started: 0, finished: 0 };
      const writes = parts.writerMailbox?.stats().delivered ?? 0;
      return counts.started + counts.finished + writes;
    },
  };
}

interface SupervisorContext {
  restarts?: Map<string, number>;
  lastErrors?: Map<string, ChildError>;
}

/** A supervisor actor and its live children, from their snapshots. */
function supervisorNode(
  id: string,
  actor: AnyActorRef,
  mailboxes: Map<string, MailboxStats>,
): ActorNode {
  const snapshot = actor.getSnapshot();
  const context = (snapshot.context ?? {}) as SupervisorContext;
  const children = Object.entries(
    (snapshot.children ?? {}) as Record<string, AnyActorRef | undefined>,
  ).flatMap(([childId, child]) =>
    child && !INVOKED_ID.test(childId)
      ? [
          {
            id: childId,
            kind: childKind(childId),
            state: stateOf(child),
            mailbox: mailboxView(mailboxes.get(childId)),
            restarts: context.restarts?.get(childId) ?? 0,
            lastError: context.lastErrors?.get(childId) ?? null,
            children: [],
            more: 0,
          },
        ]
      : [],
  );

  return {
    id,
    kind: 'supervisor',
    state: snapshot.status === 'active' ? 'running' : String(snapshot.status),
    mailbox: mailboxView(mailboxes.get(id === 'root' ? 'supervisor' : id)),
    restarts: 0,
    lastError: null,
    children,
    more: 0,
  };
}

/** Ids XState gives invoked helpers, such as a mailbox's reader. */
const INVOKED_ID = /^\d+\./;

function childKind(id: string): ActorKind {
  if (id === 'drp-writer') return 'writer';
  if (id.startsWith('agent-proxy:')) return 'agent-proxy';
  return 'supervisor';
}

function stateOf(actor: AnyActorRef): string {
  const snapshot = actor.getSnapshot() as { status: string; value?: unknown };
  if (snapshot.status !== 'active') return snapshot.status;
  if (snapshot.value === undefined) return 'running';
  return statePaths(snapshot.value).join(', ');
}

function mailboxView(stats: MailboxStats | undefined): MailboxView | null {
  if (!stats) return null;
  const { name, depth, capacity, highWater, overflow, rejected } = stats;
  return { name, depth, capacity, highWater, overflow, rejected };
}

/** Job actors are supervised by the job runner, not by an XState parent. */
function jobsNode(runner: JobRunner | null): ActorNode | null {
  if (!runner) return null;
  const listed = runner.liveJobs(LISTED);
  return {
    ...group('jobs', 'jobs', `${runner.running} running`),
    children: listed.map((job) => ({
      ...group(`job:${job.id}`, 'job', job.state),
      jobId: job.id,
    })),
    more: runner.running - listed.length,
  };
}

function workflowsNode(host: WorkflowHost | null): ActorNode | null {
  if (!host) return null;
  const listed = host.live(LISTED);
  return {
    ...group('workflows', 'workflows', `${host.running} running`),
    children: listed.map((instance) => ({
      ...group(`workflow:${instance.id}`, 'workflow', instance.states.join()),
      jobId: instance.id,
    })),
    more: host.running - listed.length,
  };
}

function agentsNode(
  agents: IntrospectionParts['agents'],
  mailboxes: Map<string, MailboxStats>,
): ActorNode | null {
  if (!agents) return null;
  const xmpp = xmppOf(agents);
  const state = `${agents.running()} rscripts`;
  if (!xmpp) return group('agents', 'agents', state);
  const node = supervisorNode('agents', xmpp.supervisor, mailboxes);
  return { ...node, kind: 'agents', state };
}

function group(id: string, kind: ActorKind, state: string): ActorNode {
  return {
    id,
    kind,
    state,
    mailbox: null,
    restarts: 0,
    lastError: null,
    children: [],
    more: 0,
  };
}

/** The agents this process reaches: its own host, and XMPP agents. */
function agentViews(
  agents: IntrospectionParts['agents'],
  clock: Clock,
): AgentView[] {
  if (!agents) return [];
  const remote = xmppOf(agents)?.agents() ?? [];
  const remoteRunning = remote.reduce((sum, agent) => sum + agent.running, 0);
  const local: AgentView = {
    id: 'local',
    online: true,
    running: Math.max(0, agents.running() - remoteRunning),
    lastSeen: clock.now(),
  };
  return [local, ...remote];
}

function xmppOf(
  agents: IntrospectionParts['agents'],
): XmppAgentController | null {
  return agents && 'supervisor' in agents ? agents : null;
}
