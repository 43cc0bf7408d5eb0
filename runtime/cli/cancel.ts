import { SUBJECTS } from '../nats/subjects.js';
import { expectPositionals, parseFlags } from './args.js';
import type { CliIo, Command } from './io.js';
import {
  explainNoEngine,
  natsFlagHelp,
  requireNatsOptions,
  withNatsBus,
} from './nats.js';

const HELP = `Usage: wfe cancel <id> [flags] --nats URL

Asks the engines on a NATS server to cancel a running job and every job
it started, and prints the job id and 'cancelling'. The job ends
cancelled soon after; 'wfe jobs show <id> --follow' shows when.

Flags:
  --reason TEXT    why, recorded with the job
  ${natsFlagHelp(17)}
  -h, --help       show this help

Example:
  wfe cancel 0mx7km5rp0000ace8be7f0f --nats nats://127.0.0.1:4222
`;

const FLAGS = {
  reason: { type: 'string' },
  nats: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a running job over NATS',
  help: HELP,
  run: cancel,
};

async function cancel(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('cancel', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  const [id] = expectPositionals('cancel', positionals, ['id']);
  const nats = requireNatsOptions('cancel', io, values.nats);
  const reply = await withNatsBus(io, nats, (bus) =>
    bus
      .request<{ jobId: string; status: string }>(SUBJECTS.jobCancel, {
        id,
        reason: values.reason,
      })
      .catch((err: unknown) => explainNoEngine(err, nats)),
  );
  io.stdout(`${reply.jobId} ${reply.status}\n`);
  return 0;
}
