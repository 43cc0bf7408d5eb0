/**
 * The subjects wfe answers and publishes on NATS. The README documents
 * each with its JSON; keep the two in step.
 */
export const SUBJECTS = {
  /** Request: a submission; answer `{jobId, status}` or the final job. */
  submit: 'wfe.submit',
  /** Request `{id, afterSeq?, logLimit?}`: `{job, tree, logs}`. */
  jobGet: 'wfe.jobs.get',
  /** Request `{status?, action?, parentId?, before?, limit?}`. */
  jobList: 'wfe.jobs.list',
  /** Request `{id, reason?}`: cancels a running job and its subtree. */
  jobCancel: 'wfe.jobs.cancel',
  /** Request `{id, type, payload?}`: an event for a workflow instance. */
  workflowEvent: 'wfe.workflows.event',
  /** JetStream subjects other systems publish submissions to. */
  intake: 'wfe.intake.>',
  /** Where intake publishes a submission it had to refuse. */
  intakeRejected: 'wfe.rejected.intake',
} as const;

/** The JetStream stream and durable consumer behind the intake. */
export const INTAKE_STREAM = 'WFE_INTAKE';
export const INTAKE_CONSUMER = 'wfe-workers';

/** Published when a job changes status: the record without its params. */
export function jobStatusSubject(jobId: string, status: string): string {
  return `wfe.jobs.${jobId}.${status}`;
}

/** Published as a job's log grows: `{jobId, entries}`. */
export function jobLogSubject(jobId: string): string {
  return `wfe.jobs.${jobId}.log`;
}

/** Every event of every job. */
export const ALL_JOB_EVENTS = 'wfe.jobs.*.*';
