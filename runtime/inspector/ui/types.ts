// The shapes of the inspector API, as the contract in the brief states
// them. The page still reads every field defensively: a server of another
// version may leave some out.

export type JobStatus =
  'waiting' | 'running' | 'done' | 'error' | 'cancelled' | 'lost';

export const JOB_STATUSES: JobStatus[] = [
  'waiting',
  'running',
  'done',
  'error',
  'cancelled',
  'lost',
];

export interface Mailbox {
  name: string;
  depth: number;
  capacity: number;
  highWater: number;
  overflow: 'reject' | 'wait';
  rejected: number;
}

export interface ErrorStamp {
  code: string;
  message: string;
  at: number;
}

export interface ActorNode {
  id: string;
  kind: string;
  state: string;
  mailbox: Mailbox | null;
  restarts: number;
  lastError: ErrorStamp | null;
  jobId?: string;
  children: ActorNode[];
  more: number;
}

export interface AgentView {
  id: string;
  online: boolean;
  running: number;
  lastSeen: number | null;
}

export interface Metrics {
  intervalMs: number;
  end: number;
  jobsPerSec: number[];
  loopDelayMs: number[];
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

export interface JobError {
  code: string;
  message: string;
  retryable?: boolean;
  details?: unknown;
  cause?: unknown;
}

export interface JobRecord {
  id: string;
  parentId: string | null;
  rootId: string;
  action: string;
  target: string | null;
  params: Record<string, unknown>;
  status: JobStatus;
  result: unknown;
  error: JobError | null;
  maxDurationMs: number | null;
  idempotencyKey: string | null;
  owner: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

export interface JobLogEntry {
  jobId: string;
  seq: number;
  at: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  data?: unknown;
}

export interface HistoryEntry {
  at: number;
  states: string[];
}

export interface InstanceView {
  workflow: string;
  version: string;
  states: string[];
  status: string;
  history: HistoryEntry[];
  events: string[];
}

/** The `job` event of a job stream: the detail without its logs. */
export interface JobSnapshot {
  job: JobRecord;
  tree: JobRecord[];
  instance: InstanceView | null;
}

export interface JobDetail extends JobSnapshot {
  logs: JobLogEntry[];
}

export interface JobPage {
  jobs: JobRecord[];
  next: string | null;
}
