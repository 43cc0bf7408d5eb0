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
import { type CliIo, type Command } from './io.js';
import { followAllJobs } from './jobs-follow.js';
import { listJobsOverNats, type ListFilter } from './jobs-nats.js';
import { formatDuration, showJob } from './jobs-show.js';
import { mongoFlagHelp, openReadStore } from './store.js';
import { natsFlagHelp, readerNatsOptions, withNatsBus } from './nats.js';

const HELP = `Usage: wfe jobs [flags]
       wfe jobs --follow --nats URL
       wfe jobs show <id> [--data DIR | --mongodb URL | --nats URL]
                     [--json] [--follow]

Lists jobs, newest first: top-level jobs unless --all or --action is given.
'wfe jobs show <id>' prints one job with its tree, result and logs.
Jobs are read from the store in --data or in MongoDB (--mongodb), or
from the engines on NATS with --nats (or WFE_NATS_URL, unless a store is
named). Reading is safe while an engine runs on the same store.

With --follow (needs NATS), prints every job's changes of status and log
lines as they happen, one per line, until Ctrl-C.

Flags:
  --data DIR       where the store lives (env WFE_DATA_DIR, default .wfe)
  ${mongoFlagHelp(17)}
  ${natsFlagHelp(17)}
  --status S       only jobs in this status (${JOB_STATUSES.join(', ')})
  --action A       only jobs of this action, at any depth
  --all            include the jobs that other jobs started
  --limit N        at most N jobs (default 20)
  --before ID      only jobs older than this one: the next page
  --json           one JSON object per line instead of a table
  --follow         print what happens to every job until Ctrl-C
  -h, --help       show this help

Examples:
  wfe jobs --status error --limit 5
  wfe jobs --nats nats://127.0.0.1:4222 --action machine.create
`;

const FLAGS = {
  data: { type: 'string' },
  mongodb: { type: 'string' },
  nats: { type: 'string' },
  status: { type: 'string' },
  action: { type: 'string' },
  all: { type: 'boolean' },
  limit: { type: 'string' },
  before: { type: 'string' },
  json: { type: 'boolean' },
  follow: { type: 'boolean' },
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
  const filter: ListFilter = {
    status: values.status === undefined ? undefined : toStatus(values.status),
    action: values.action,
    topLevel: !values.all && values.action === undefined,
    before: values.before,
    limit:
      values.limit === undefined
        ? DEFAULT_LIMIT
        : parsePositiveInteger('jobs', 'limit', values.limit),
  };
  const nats = readerNatsOptions('jobs', io, values);
  if (values.follow) {
    if (!nats) {
      throw new UsageError(
        'jobs',
        '--follow needs the engines: give --nats URL or set WFE_NATS_URL',
      );
    }
    return withNatsBus(io, nats, (bus) => followAllJobs(bus, io));
  }

  const { jobs, next } = nats
    ? await withNatsBus(io, nats, (bus) => listJobsOverNats(bus, filter))
    : { jobs: await localJobs(io, values, filter), next: null };
  if (values.json) {
    for (const job of jobs) io.stdout(`${JSON.stringify(job)}\n`);
  } else if (jobs.length === 0) {
    io.stderr('no jobs\n');
  } else {
    io.stdout(table(jobs));
  }
  if (next !== null) io.stderr(`more jobs: add --before ${next}\n`);
  return 0;
}

async function localJobs(
  io: CliIo,
  flags: { data?: string; mongodb?: string },
  filter: ListFilter,
): Promise<JobRecord[]> {
  const query: JobQuery = {
    status: filter.status,
    action: filter.action,
    beforeId: filter.before,
  };
  if (filter.topLevel) query.parentId = null;

  const store = await openReadStore('jobs', io, flags);
  try {
    return await newestJobs(store, query, filter.limit);
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
      beforeId: jobs.at(-1)?.id ?? query.beforeId,
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
