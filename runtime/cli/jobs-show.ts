import type { JobLogEntry, JobRecord, Store } from '../drp/types.js';
import { WfeError } from '../errors.js';
import { expectPositionals, parseFlags } from './args.js';
import { openExistingStore, type CliIo } from './io.js';

const HELP = `Usage: wfe jobs show <id> [flags]

Prints one job: its fields, params, result or error, the tree of jobs it
started, and the log lines of each job in that tree.

Flags:
  --data DIR       where the store lives (env WFE_DATA_DIR, default .wfe)
  --json           one JSON document: { job, tree, logs }
  -h, --help       show this help

Example:
  wfe jobs show 0mx7km5rp0000ace8be7f0f
`;

const FLAGS = {
  data: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const LOG_PAGE = 1000;

/** `wfe jobs show <id>`. */
export async function showJob(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('jobs show', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  const [id] = expectPositionals('jobs show', positionals, ['id']);
  const store = openExistingStore(io, values.data);
  try {
    const job = await store.getJob(id!);
    if (!job) {
      throw new WfeError('JOB_NOT_FOUND', `no job with id ${id}`, {
        details: { id },
      });
    }

    const tree = depthFirst(await store.jobTree(job.id));
    const logs = new Map<string, JobLogEntry[]>();
    for (const { job: member } of tree) {
      logs.set(member.id, await allLogs(store, member.id));
    }

    if (values.json) {
      const document = {
        job,
        tree: tree.map(({ job: member }) => member),
        logs: Object.fromEntries(logs),
      };
      io.stdout(`${JSON.stringify(document, null, 2)}\n`);
    } else {
      io.stdout(describeJob(job, tree, logs));
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** Run time of a job: '-' before it started or while it runs. */
export function formatDuration(job: JobRecord): string {
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

function describeJob(
  job: JobRecord,
  tree: TreeNode[],
  logs: Map<string, JobLogEntry[]>,
): string {
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

function formatLogEntry(entry: JobLogEntry): string {
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
