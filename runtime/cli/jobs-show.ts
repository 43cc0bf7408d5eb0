import type { JobLogEntry, JobRecord, Store } from '../drp/types.js';
import {
  INSTANCE_TYPE,
  instanceView,
  type InstanceRecord,
  type InstanceView,
} from '../workflows/snapshots.js';
import { WfeError } from '../errors.js';
import { expectPositionals, parseFlags, UsageError } from './args.js';
import { type CliIo } from './io.js';
import { followJob } from './jobs-follow.js';
import { jobViewOverNats } from './jobs-nats.js';
import { mongoFlagHelp, openReadStore } from './store.js';
import { natsFlagHelp, readerNatsOptions, withNatsBus } from './nats.js';

const HELP = `Usage: wfe jobs show <id> [flags]

Prints one job: its fields, params, result or error, the tree of jobs it
started, and the log lines of each job in that tree. Reads the store in
--data or in MongoDB (--mongodb), or asks the engines on NATS with --nats
(or WFE_NATS_URL).

With --follow (needs NATS), then prints each change of status and each
log line of the job and of the jobs it starts, one per line, until the
job ends: exits 0 when it is done, 1 when it failed or was cancelled, 130
when stopped with Ctrl-C before that.

Flags:
  --data DIR       where the store lives (env WFE_DATA_DIR, default .wfe)
  ${mongoFlagHelp(17)}
  ${natsFlagHelp(17)}
  --follow         keep printing what happens until the job ends
  --json           one JSON document: { job, tree, logs }
  -h, --help       show this help

Examples:
  wfe jobs show 0mx7km5rp0000ace8be7f0f
  wfe jobs show 0mx7km5rp0000ace8be7f0f --follow --nats nats://127.0.0.1:4222
`;

const FLAGS = {
  data: { type: 'string' },
  mongodb: { type: 'string' },
  nats: { type: 'string' },
  follow: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const LOG_PAGE = 1000;

/** A job as `jobs show` prints it. */
export interface JobView {
  job: JobRecord;
  /** The job and every job below it, parents before children. */
  tree: JobRecord[];
  /** Log lines by job id, for each job of the tree. */
  logs: Map<string, JobLogEntry[]>;
  /** For a workflow job: where its instance is and has been. */
  instance?: InstanceView;
}

/** `wfe jobs show <id>`. */
export async function showJob(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('jobs show', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  const [id] = expectPositionals('jobs show', positionals, ['id']);
  const nats = readerNatsOptions('jobs show', io, values);
  if (values.follow) {
    if (values.json) {
      throw new UsageError('jobs show', '--follow prints lines, not --json');
    }
    if (!nats) {
      throw new UsageError(
        'jobs show',
        '--follow needs the engines: give --nats URL or set WFE_NATS_URL',
      );
    }
    return withNatsBus(io, nats, (bus) => followJob(bus, id!, io));
  }

  const view = nats
    ? await withNatsBus(io, nats, (bus) => jobViewOverNats(bus, id!))
    : await localJobView(io, values, id!);
  io.stdout(values.json ? jobJson(view) : describeJob(view));
  return 0;
}

async function localJobView(
  io: CliIo,
  flags: { data?: string; mongodb?: string },
  id: string,
): Promise<JobView> {
  const store = await openReadStore('jobs show', io, flags);
  try {
    const job = await store.getJob(id);
    if (!job) {
      throw new WfeError('JOB_NOT_FOUND', `no job with id ${id}`, {
        details: { id },
      });
    }

    const tree = await store.jobTree(job.id);
    const object = await store.getObject(job.id);
    const instance =
      object?.type === INSTANCE_TYPE
        ? instanceView(object.data as unknown as InstanceRecord)
        : undefined;
    const logs = new Map<string, JobLogEntry[]>();
    for (const member of tree) {
      logs.set(member.id, await allLogs(store, member.id));
    }
    return { job, tree, logs, instance };
  } finally {
    await store.close();
  }
}

function jobJson(view: JobView): string {
  const tree = depthFirst(view.tree).map(({ job }) => job);
  const document = {
    job: view.job,
    tree,
    logs: Object.fromEntries(
      tree.map((member) => [member.id, view.logs.get(member.id) ?? []]),
    ),
    ...(view.instance
      ? {
          workflow: {
            name: view.instance.workflow,
            version: view.instance.version,
            states: view.instance.states,
            history: view.instance.history,
          },
        }
      : {}),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Run time of a job: '-' before it started or while it runs. */
export function formatDuration(
  job: Pick<JobRecord, 'startedAt' | 'endedAt'>,
): string {
  if (job.startedAt === null || job.endedAt === null) return '-';
  const ms = job.endedAt - job.startedAt;
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

interface TreeNode {
  job: JobRecord;
  depth: number;
}

// The store gives parents before children; a depth-first walk puts each
// child right under its parent, which is how a tree reads.
function depthFirst(jobs: JobRecord[]): TreeNode[] {
  const children = new Map<string | null, JobRecord[]>();
  const ids = new Set(jobs.map((job) => job.id));
  for (const job of jobs) {
    const parent =
      job.parentId !== null && ids.has(job.parentId) ? job.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), job]);
  }

  const nodes: TreeNode[] = [];
  const visit = (job: JobRecord, depth: number) => {
    nodes.push({ job, depth });
    for (const child of children.get(job.id) ?? []) visit(child, depth + 1);
  };
  for (const top of children.get(null) ?? []) visit(top, 0);
  return nodes;
}

async function allLogs(store: Store, jobId: string): Promise<JobLogEntry[]> {
  const entries: JobLogEntry[] = [];
  for (;;) {
    const page = await store.jobLogs(jobId, {
      afterSeq: entries.at(-1)?.seq ?? 0,
      limit: LOG_PAGE,
    });
    entries.push(...page);
    if (page.length < LOG_PAGE) return entries;
  }
}

/** The job as people read it: fields, outcome, tree and logs. */
export function describeJob({
  job,
  tree: members,
  logs,
  instance,
}: JobView): string {
  const tree = depthFirst(members);
  const lines = [
    `job ${job.id}`,
    `  action    ${job.action}`,
    `  status    ${job.status}`,
  ];
  if (job.target !== null) lines.push(`  target    ${job.target}`);
  if (job.parentId !== null) lines.push(`  parent    ${job.parentId}`);
  lines.push(
    `  created   ${new Date(job.createdAt).toISOString()}`,
    `  duration  ${formatDuration(job)}`,
    'params',
    ...indent(pretty(job.params), 1),
  );

  if (job.error) {
    lines.push('error', `  ${job.error.code}: ${job.error.message}`);
    if (job.error.details !== undefined) {
      lines.push(...indent(pretty(job.error.details), 1));
    }
  } else if (job.status === 'done') {
    lines.push('result', ...indent(pretty(job.result ?? null), 1));
  }

  if (instance) lines.push(...describeInstance(instance));
  lines.push('tree');
  for (const { job: member, depth } of tree) {
    lines.push(
      `${'  '.repeat(depth + 1)}${member.action}  ${member.status}  ${member.id}`,
    );
  }

  lines.push('logs');
  for (const { job: member, depth } of tree) {
    lines.push(`${'  '.repeat(depth + 1)}${member.action} (${member.id})`);
    const entries = logs.get(member.id) ?? [];
    if (entries.length === 0) lines.push(`${'  '.repeat(depth + 2)}(none)`);
    for (const entry of entries) {
      lines.push(...indent(formatLogEntry(entry), depth + 2));
    }
  }
  return lines.map((line) => `${line}\n`).join('');
}

export function formatLogEntry(entry: JobLogEntry): string {
  const time = new Date(entry.at).toISOString();
  const data = entry.data === undefined ? '' : ` ${JSON.stringify(entry.data)}`;
  return `${time} ${entry.level.padEnd(5)} ${entry.message.trimEnd()}${data}`;
}

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function indent(text: string, depth: number): string[] {
  const pad = '  '.repeat(depth);
  return text.split('\n').map((line) => `${pad}${line}`);
}

/** A workflow's version, where it is, and where it has been. */
function describeInstance(instance: InstanceView): string[] {
  const lines = [
    `workflow ${instance.workflow} v${instance.version}`,
    `  now in    ${instance.states.join(', ')}`,
    '  history',
  ];
  for (const step of instance.history ?? []) {
    const at = new Date(step.at).toISOString();
    lines.push(`    ${at}  ${step.states.join(', ')}`);
  }
  return lines;
}
