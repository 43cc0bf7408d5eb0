import {
  JOB_STATUSES,
  type JobQuery,
  type JobRecord,
  type JobStatus,
  type Store,
} from '../drp/types.js';
import {
  expectPositionals,
  parseFlags,
  parsePositiveInteger,
  UsageError,
} from './args.js';
import { openExistingStore, type CliIo, type Command } from './io.js';
import { formatDuration, showJob } from './jobs-show.js';

const HELP = `Usage: wfe jobs [flags]
       wfe jobs show <id> [--data DIR] [--json]

Lists jobs, newest first: top-level jobs unless --all or --action is given.
'wfe jobs show <id>' prints one job with its tree, result and logs.
Reading is safe while an engine runs on the same data folder.

Flags:
  --data DIR       where the store lives (env WFE_DATA_DIR, default .wfe)
  --status S       only jobs in this status (${JOB_STATUSES.join(', ')})
  --action A       only jobs of this action, at any depth
  --all            include the jobs that other jobs started
  --limit N        at most N jobs (default 20)
  --json           one JSON object per line instead of a table
  -h, --help       show this help

Example:
  wfe jobs --status error --limit 5
`;

const FLAGS = {
  data: { type: 'string' },
  status: { type: 'string' },
  action: { type: 'string' },
  all: { type: 'boolean' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DEFAULT_LIMIT = 20;
const PAGE = 500;

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list jobs, or show one with its tree and logs',
  help: HELP,
  run: (argv, io) =>
    argv[0] === 'show' ? showJob(argv.slice(1), io) : listJobs(argv, io),
};

async function listJobs(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('jobs', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  expectPositionals('jobs', positionals, []);
  const status =
    values.status === undefined ? undefined : toStatus(values.status);
  const limit =
    values.limit === undefined
      ? DEFAULT_LIMIT
      : parsePositiveInteger('jobs', 'limit', values.limit);
  const query: JobQuery = { status, action: values.action };
  if (!values.all && values.action === undefined) query.parentId = null;

  const store = openExistingStore(io, values.data);
  try {
    const jobs = await newestJobs(store, query, limit);
    if (values.json) {
      for (const job of jobs) io.stdout(`${JSON.stringify(job)}\n`);
    } else if (jobs.length === 0) {
      io.stderr('no jobs\n');
    } else {
      io.stdout(table(jobs));
    }
    return 0;
  } finally {
    await store.close();
  }
}

function toStatus(text: string): JobStatus {
  const status = JOB_STATUSES.find((known) => known === text);
  if (!status) {
    throw new UsageError(
      'jobs',
      `--status must be one of ${JOB_STATUSES.join(', ')}, got '${text}'`,
    );
  }
  return status;
}

// The store caps one page, so larger limits are read page by page.
async function newestJobs(
  store: Store,
  query: JobQuery,
  limit: number,
): Promise<JobRecord[]> {
  const jobs: JobRecord[] = [];
  while (jobs.length < limit) {
    const page = await store.listJobs({
      ...query,
      beforeId: jobs.at(-1)?.id,
      limit: Math.min(PAGE, limit - jobs.length),
    });
    jobs.push(...page);
    if (page.length < PAGE) break;
  }
  return jobs;
}

function table(jobs: JobRecord[]): string {
  const rows = [
    ['ID', 'STATUS', 'ACTION', 'CREATED', 'DURATION'],
    ...jobs.map((job) => [
      job.id,
      job.status,
      job.action,
      new Date(job.createdAt).toISOString(),
      formatDuration(job),
    ]),
  ];
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => row[column]!.length)),
  );
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}
