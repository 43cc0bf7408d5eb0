import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerMessages,
  type JsMsg,
  type NatsConnection,
} from 'nats';

import type { Bus } from '../bus/types.js';
import { isFinished, type JobRecord } from '../drp/types.js';
import { toErrorInfo, toWfeError, WfeError } from '../errors.js';
import { isPlainObject } from '../jobs/submission.js';
import type { Logger } from '../log.js';
import { Slots } from './slots.js';
import { INTAKE_CONSUMER, INTAKE_STREAM, SUBJECTS } from './subjects.js';

export interface IntakeOptions {
  nc: NatsConnection;
  bus: Bus;
  logger: Logger;
  submit(submission: unknown): Promise<JobRecord>;
  wait(id: string): Promise<JobRecord>;
  /** Intake jobs running at once; past it, no more are pulled. */
  maxInFlight: number;
  maxBytes: number;
  /** An unacknowledged message is delivered again after this. */
  ackWaitMs?: number;
}

export interface Intake {
  /** Intake jobs started here and not yet ended. */
  readonly inFlight: number;
  /** Stops pulling; resolves once every pulled message is settled. */
  stop(): Promise<void>;
}

/**
 * Consumes the durable intake stream. A message is acknowledged only
 * once its job is durable; a message delivered again finds its job by
 * idempotency key, so each becomes exactly one job. Workers share one
 * durable consumer, so each message goes to one of them.
 */
export async function startIntake(options: IntakeOptions): Promise<Intake> {
  const streamCreated = await ensureStream(options);
  const js = options.nc.jetstream();
  const consumer = await js.consumers.get(INTAKE_STREAM, INTAKE_CONSUMER);
  const slots = new Slots(options.maxInFlight);
  const settling = new Set<Promise<void>>();

  const messages: ConsumerMessages = await consumer.consume({
    max_messages: Math.min(options.maxInFlight, 256),
  });
  void watchStatus(messages, options.logger);

  const loop = (async () => {
    for await (const message of messages) {
      await slots.acquire();
      const settled = take(message, streamCreated, slots, options).finally(() =>
        settling.delete(settled),
      );
      settling.add(settled);
    }
  })().catch((err: unknown) => {
    options.logger.error({ err }, 'intake stopped consuming');
  });

  options.logger.info(
    { stream: INTAKE_STREAM, consumer: INTAKE_CONSUMER },
    'intake consuming',
  );

  return {
    get inFlight() {
      return slots.used;
    },
    async stop() {
      await messages.close();
      await loop;
      await Promise.allSettled([...settling]);
    },
  };
}

/** Turns one message into a job; settles when the message is answered. */
async function take(
  message: JsMsg,
  streamCreated: string,
  slots: Slots,
  options: IntakeOptions,
): Promise<void> {
  let job: JobRecord;
  try {
    job = await options.submit(submissionOf(message, streamCreated, options));
  } catch (err) {
    slots.release();
    settleFailure(message, err, options);
    return;
  }

  message.ack();
  if (isFinished(job.status)) {
    slots.release();
    return;
  }
  void options
    .wait(job.id)
    .catch(() => {})
    .finally(() => slots.release());
}

/**
 * The message's own idempotency key wins; without one, its place in the
 * stream names it, which stays the same on every redelivery.
 */
function submissionOf(
  message: JsMsg,
  streamCreated: string,
  options: IntakeOptions,
): unknown {
  if (message.data.length > options.maxBytes) {
    throw new WfeError(
      'PAYLOAD_TOO_LARGE',
      `submission of ${message.data.length} bytes is over the limit of ` +
        `${options.maxBytes}`,
    );
  }

  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(message.data));
  } catch (err) {
    throw new WfeError(
      'BAD_JSON',
      `submission is not JSON: ${(err as Error).message}`,
    );
  }
  if (!isPlainObject(body)) return body;

  const { wait: _wait, ...submission } = body as Record<string, unknown>;
  submission.idempotencyKey ??= `intake:${streamCreated}:${message.seq}`;
  return submission;
}

function settleFailure(
  message: JsMsg,
  err: unknown,
  options: IntakeOptions,
): void {
  const error = toWfeError(err);
  if (error.retryable) {
    options.logger.warn(
      { seq: message.seq, err: toErrorInfo(error) },
      'intake message will be retried',
    );
    message.nak(1000);
    return;
  }

  // A message that can never become a job is taken out of the stream
  // and published for whoever watches refusals.
  message.term(error.code);
  options.logger.warn(
    { seq: message.seq, subject: message.subject, err: toErrorInfo(error) },
    'intake message refused',
  );
  options.bus.publish(SUBJECTS.intakeRejected, {
    seq: message.seq,
    subject: message.subject,
    error: { code: error.code, message: error.message },
  });
}

/** Creates the stream and the shared durable consumer when missing. */
async function ensureStream(options: IntakeOptions): Promise<string> {
  const jsm = await options.nc.jetstreamManager();
  let created: string;
  try {
    created = (await jsm.streams.info(INTAKE_STREAM)).created;
  } catch {
    const info = await jsm.streams.add({
      name: INTAKE_STREAM,
      subjects: [SUBJECTS.intake],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
    created = info.created;
    options.logger.info({ stream: INTAKE_STREAM }, 'intake stream created');
  }

  try {
    await jsm.consumers.info(INTAKE_STREAM, INTAKE_CONSUMER);
  } catch {
    await jsm.consumers.add(INTAKE_STREAM, {
      durable_name: INTAKE_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs ?? 30_000),
      max_ack_pending: 20_000,
    });
  }
  return created;
}

async function watchStatus(
  messages: ConsumerMessages,
  logger: Logger,
): Promise<void> {
  for await (const status of await messages.status()) {
    if (status.type === 'heartbeats_missed' || status.type === 'reset') {
      logger.warn({ status: status.type, data: status.data }, 'intake status');
    } else if (status.type !== 'next' && status.type !== 'debug') {
      logger.info({ status: status.type, data: status.data }, 'intake status');
    }
  }
}
