import { SUBJECTS } from '../nats/subjects.js';
import { expectPositionals, parseFlags, parseJsonObject } from './args.js';
import type { CliIo, Command } from './io.js';
import {
  explainNoEngine,
  natsFlagHelp,
  requireNatsOptions,
  withNatsBus,
} from './nats.js';

const HELP = `Usage: wfe event <id> <name> [flags] --nats URL

Sends a named event to a running workflow instance (the id of its job),
for a wait state that has 'on: { <name>: ... }'. Guards see the payload
as 'event'. An unknown instance, one that has ended, or one that is no
workflow is an error.

Flags:
  --payload JSON   the event's payload, a JSON object (default none)
  ${natsFlagHelp(17)}
  -h, --help       show this help

Example:
  wfe event 0mx7km5rp0000ace8be7f0f approve --payload '{"by":"ops"}' \\
    --nats nats://127.0.0.1:4222
`;

const FLAGS = {
  payload: { type: 'string' },
  nats: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const eventCommand: Command = {
  name: 'event',
  summary: 'send an event to a workflow instance over NATS',
  help: HELP,
  run: event,
};

async function event(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('event', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  const [id, type] = expectPositionals('event', positionals, ['id', 'name']);
  const payload =
    values.payload === undefined
      ? undefined
      : parseJsonObject('event', 'payload', values.payload);
  const nats = requireNatsOptions('event', io, values.nats);
  const reply = await withNatsBus(io, nats, (bus) =>
    bus
      .request<{ jobId: string; delivered: string }>(SUBJECTS.workflowEvent, {
        id,
        type,
        payload,
      })
      .catch((err: unknown) => explainNoEngine(err, nats)),
  );
  io.stdout(`${reply.jobId} got ${reply.delivered}\n`);
  return 0;
}
