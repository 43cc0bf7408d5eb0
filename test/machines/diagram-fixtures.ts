import type { WorkflowDefinition } from '../../machines/definition.js';

/**
 * A definition with one state of every kind: a choice, a wait on events
 * with a timeout, a parallel state with two regions, a delay, finals.
 * Its rscript `migrate.sh` must sit beside the file when it is loaded.
 */
export const DEPLOY: WorkflowDefinition = {
  name: 'deploy',
  version: 3,
  initial: 'check',
  states: {
    check: {
      choose: [
        { if: 'params.force', next: 'provision' },
        {
          if: "size(params.hosts) > 1 && params.hosts.all(h, h != 'prod')",
          next: 'approval',
        },
        { next: 'done' },
      ],
    },
    approval: {
      on: {
        approve: [{ if: 'event.by != params.requester', next: 'provision' }],
        reject: 'rejected',
      },
      timeoutMs: 3_600_000,
      onTimeout: 'rejected',
    },
    provision: {
      parallel: {
        web: {
          initial: 'start',
          states: {
            start: {
              action: 'machine.start',
              next: 'ready',
              onError: { AGENT_LOST: 'pause' },
            },
            pause: { delayMs: 5000, next: 'start' },
            ready: { final: true },
          },
        },
        db: {
          initial: 'migrate',
          states: {
            migrate: {
              rscript: { agent: "'local'", script: 'migrate.sh' },
              next: 'ready',
            },
            ready: { final: true },
          },
        },
      },
      next: 'done',
      onError: { '*': 'failed' },
    },
    done: { final: true, result: 'params.hosts' },
    rejected: { final: true, error: { code: 'REJECTED' } },
    failed: { final: true, error: { code: 'PROVISION_FAILED' } },
  },
};
