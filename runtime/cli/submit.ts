import type { NatsOptions } from '../bus/connect.js';
import type { JobRecord } from '../drp/types.js';
import { toWfeError, WfeError } from '../errors.js';
import type { SubmitReply } from '../nats/submit-service.js';
import { SUBJECTS } from '../nats/subjects.js';
import {
  expectPositionals,
  parseFlags,
  parseJsonObject,
  parsePositiveInteger,
  UsageError,
} from './args.js';
import type { CliIo, Command } from './io.js';
import {
  explainNoEngine,
  natsFlagHelp,
  requireNatsOptions,
  withNatsBus,
} from './nats.js';

/** Long enough for most actions; a job outliving it keeps running. */
const DEFAULT_WAIT_SECONDS = 3600;
const DEFAULT_REQUEST_SECONDS = 30;
/** Timers cannot count further (2^31 ms). */
const MAX_TIMEOUT_SECONDS = 2_147_483;

const HELP = `Usage: wfe submit <action> [flags] --nats URL

Submits an action to the engines on a NATS server and prints the new
job's id and status on one line. The job is recorded before the answer.
With --wait, waits for the job to end instead: prints its result as JSON
and exits 0 when it is done, or prints its error and exits 1 when it
failed or was cancelled.

Flags:
  --params JSON      the action's parameters, a JSON object (default {})
  --target GUID      the root object the action works on
  --key KEY          an idempotency key: submitting the same key again
                     gives the same job instead of a new one
  --max-duration MS  fail the job if it runs longer than this
  --wait             wait for the job to end and print how it ended
  --timeout SECONDS  give up waiting for an answer after this (default
                     ${DEFAULT_WAIT_SECONDS} with --wait, else ${DEFAULT_REQUEST_SECONDS}); the job itself keeps
                     running: follow it with 'wfe jobs show ID --follow'
  ${natsFlagHelp(19)}
  -h, --help         show this help

Examples:
  wfe submit machine.create --params '{"name":"web1"}' \\
    --nats nats://127.0.0.1:4222
  export WFE_NATS_URL=nats://127.0.0.1:4222
  wfe submit machine.start --target GUID --wait
`;

const FLAGS = {
  params: { type: 'string' },
  target: { type: 'string' },
  key: { type: 'string' },
  'max-duration': { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  nats: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit an action to engines over NATS',
  help: HELP,
  run: submit,
};

interface Submission {
  action: string;
  target?: string;
  params: Record<string, unknown>;
  idempotencyKey?: string;
  maxDurationMs?: number;
  wait: boolean;
}

async function submit(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('submit', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  const [action] = expectPositionals('submit', positionals, ['action']);
  const submission: Submission = {
    action: action!,
    target: values.target,
    params:
      values.params === undefined
        ? {}
        : parseJsonObject('submit', 'params', values.params),
    idempotencyKey: values.key,
    maxDurationMs:
      values['max-duration'] === undefined
        ? undefined
        : parsePositiveInteger(
            'submit',
            'max-duration',
            values['max-duration'],
          ),
    wait: values.wait ?? false,
  };
  const timeoutSeconds = parseTimeout(values.timeout, submission.wait);
  const nats = requireNatsOptions('submit', io, values.nats);

  const reply = await withNatsBus(io, nats, (bus) =>
    bus
      .request<SubmitReply>(SUBJECTS.submit, submission, {
        timeoutMs: timeoutSeconds * 1000,
      })
      .catch((err: unknown) => explainFailure(err, nats, timeoutSeconds)),
  );
  return report(reply, submission, io);
}

function parseTimeout(text: string | undefined, wait: boolean): number {
  if (text === undefined) {
    return wait ? DEFAULT_WAIT_SECONDS : DEFAULT_REQUEST_SECONDS;
  }
  const seconds = parsePositiveInteger('submit', 'timeout', text);
  if (seconds > MAX_TIMEOUT_SECONDS) {
    throw new UsageError(
      'submit',
      `--timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds, got ${text}`,
    );
  }
  return seconds;
}

function explainFailure(
  err: unknown,
  nats: NatsOptions,
  timeoutSeconds: number,
): never {
  const error = toWfeError(err);
  if (error.code !== 'BUS_TIMEOUT') explainNoEngine(err, nats);
  throw new WfeError(
    'BUS_TIMEOUT',
    `no answer within ${timeoutSeconds} s; a submitted job keeps running ` +
      "(see 'wfe jobs --nats URL')",
    { retryable: true, details: error.details, cause: err },
  );
}

function report(reply: SubmitReply, submission: Submission, io: CliIo): number {
  if (!submission.wait) {
    io.stdout(`${reply.jobId} ${reply.status}\n`);
    return 0;
  }
  if (reply.status === 'done') {
    io.stdout(`${JSON.stringify(reply.result ?? null, null, 2)}\n`);
    return 0;
  }

  const error: JobRecord['error'] = reply.error ?? null;
  const code = error?.code ?? reply.status.toUpperCase();
  const message = error?.message ?? `the job ended ${reply.status}`;
  io.stderr(
    `wfe: ${submission.action} ${reply.status}: ${code}: ${message} ` +
      `(job ${reply.jobId})\n`,
  );
  return 1;
}
