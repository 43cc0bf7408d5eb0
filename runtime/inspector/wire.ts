/**
 * What the inspector's API sends, shared by the server and the page so
 * that the two cannot drift apart. Types only: the page's bundle takes
 * nothing from here at run time.
 */
import type { JobLogEntry, JobRecord } from '../drp/types.js';

export type { JobLogEntry, JobRecord, JobStatus } from '../drp/types.js';

export type ActorKind =
  | 'supervisor'
  | 'writer'
  | 'jobs'
  | 'job'
  | 'agents'
  | 'agent-proxy'
  | 'workflows'
  | 'workflow';

/** One actor of the tree as the inspector draws it. */
export interface ActorNode {
  id: string;
  kind: ActorKind;
  state: string;
  mailbox: MailboxView | null;
  restarts: number;
  lastError: ErrorStamp | null;
  /** Job and workflow nodes: the job they run. */
  jobId?: string;
  children: ActorNode[];
  /** Children left out of `children`, which lists the first few. */
  more: number;
}

export interface MailboxView {
  name: string;
  depth: number;
  capacity: number;
  highWater: number;
  overflow: 'reject' | 'wait';
  rejected: number;
}

/** A failure as a supervisor remembers it. */
export interface ErrorStamp {
  code: string;
  message: string;
  at: number;
}

export interface AgentView {
  /** The agent's bare JID, or `local` for this host. */
  id: string;
  online: boolean;
  /** Rscripts running on it now. */
  running: number;
  lastSeen: number | null;
}

/** Series over the last minutes, one point per interval, oldest first. */
export interface Metrics {
  intervalMs: number;
  /** When the last point was taken. */
  end: number;
  jobsPerSec: number[];
  /** The event loop's delay in each interval, 99th percentile. */
  loopDelayMs: number[];
  /** Each mailbox's depth at each point. */
  mailboxes: Record<string, number[]>;
}

export interface Overview {
  engine: {
    owner: string;
    role: string;
    store: { kind: string; location?: string };
    startedAt: number;
    now: number;
    version: string;
  };
  actors: ActorNode;
  agents: AgentView[];
  jobs: { running: number; started: number; finished: number };
  metrics: Metrics;
}

export interface HistoryEntry {
  at: number;
  states: string[];
}

/** A workflow instance: where it is and what it waits for. */
export interface InstanceDetail {
  workflow: string;
  version: number;
  /** Active leaf states, as paths like `checks.web.run`. */
  states: string[];
  /** XState's: `active` while it runs. */
  status: string;
  history: HistoryEntry[];
  /** The events its active states take now. */
  events: string[];
}

/** A job stream's `job` event: the detail without the log. */
export interface JobView {
  job: JobRecord;
  tree: JobRecord[];
  instance: InstanceDetail | null;
}

export interface JobDetail extends JobView {
  logs: JobLogEntry[];
}

export interface JobPage {
  jobs: JobRecord[];
  next: string | null;
}
