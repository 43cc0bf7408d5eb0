import type { IncomingMessage, ServerResponse } from 'node:http';

import { JOB_STATUSES, type JobQuery, type JobStatus } from '../drp/types.js';
import { WfeError } from '../errors.js';
import { checkActionRequest } from './auth.js';
import { readJson, sendJson } from './http.js';
import { DiagramCache, readInstance } from './instance.js';
import { jobView, watchJob } from './job-watch.js';
import type { InspectorTarget } from './target.js';
import { EventStream } from './sse.js';

const MAX_LIMIT = 200;
const DEFAULT_LIMIT = 50;
const DETAIL_LOG_LINES = 1000;

/** The answers about jobs: lists, one job, its stream, and its actions. */
export class JobsApi {
  readonly #target: InspectorTarget;
  readonly #diagrams = new DiagramCache();

  constructor(target: InspectorTarget) {
    this.#target = target;
  }

  actions(response: ServerResponse): void {
    sendJson(response, 200, { actions: this.#target.actions() });
  }

  async list(url: URL, response: ServerResponse): Promise<void> {
    const query = jobQuery(url.searchParams);
    const limit = query.limit!;
    const jobs = await this.#target.store.listJobs({
      ...query,
      limit: limit + 1,
    });
    const next = jobs.length > limit ? jobs[limit - 1]!.id : null;
    sendJson(response, 200, { jobs: jobs.slice(0, limit), next });
  }

  async detail(id: string, response: ServerResponse): Promise<void> {
    const view = await jobView(this.#target.store, id);
    const logs = await this.#target.store.jobLogs(id, {
      limit: DETAIL_LOG_LINES,
    });
    sendJson(response, 200, { ...view, logs });
  }

  stream(id: string, response: ServerResponse): void {
    const stream = new EventStream(response);
    void watchJob({
      store: this.#target.store,
      id,
      stream,
      logger: this.#target.logger,
    });
  }

  async diagram(id: string, response: ServerResponse): Promise<void> {
    const instance = await readInstance(this.#target.store, id);
    if (!instance) {
      throw new WfeError(
        'NOT_FOUND',
        `job ${id} does not run a workflow instance`,
      );
    }
    const svg = await this.#diagrams.svg(instance.definition);
    response.writeHead(200, {
      'Content-Type': 'image/svg+xml; charset=utf-8',
      'Cache-Control': 'private, max-age=60',
    });
    response.end(svg);
  }

  async cancel(
    id: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const body = await actionBody(request);
    const reason =
      typeof body.reason === 'string' && body.reason.trim() !== ''
        ? body.reason.slice(0, 500)
        : 'cancelled from the inspector';
    await this.#target.cancel(id, reason);
    this.#target.logger.info({ jobId: id, reason }, 'job cancelled by a page');
    sendJson(response, 202, { ok: true });
  }

  async event(
    id: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const body = await actionBody(request);
    if (typeof body.type !== 'string') {
      throw new WfeError(
        'BAD_EVENT',
        'the body needs a "type": the event name',
      );
    }
    await this.#target.sendEvent(id, body.type, body.payload);
    this.#target.logger.info(
      { jobId: id, event: body.type },
      'workflow event sent by a page',
    );
    sendJson(response, 202, { ok: true });
  }
}

/** An action's body: checked to come from the page, then as an object. */
async function actionBody(
  request: IncomingMessage,
): Promise<Record<string, unknown>> {
  checkActionRequest(request);
  const body = await readJson(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WfeError('BAD_INPUT', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** The list's filters, checked: each bad one is named. */
export function jobQuery(params: URLSearchParams): JobQuery {
  const query: JobQuery = { limit: DEFAULT_LIMIT };

  const status = params.get('status');
  if (status) {
    if (!JOB_STATUSES.includes(status as JobStatus)) {
      throw new WfeError(
        'BAD_QUERY',
        `status must be one of ${JOB_STATUSES.join(', ')}, got '${status}'`,
      );
    }
    query.status = status as JobStatus;
  }

  const action = params.get('action');
  if (action) {
    if (action.length > 200) {
      throw new WfeError('BAD_QUERY', 'action is longer than 200 characters');
    }
    query.action = action;
  }

  const before = params.get('before');
  if (before) query.beforeId = beforeId(before);

  const limit = params.get('limit');
  if (limit) {
    const value = Number(limit);
    if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
      throw new WfeError(
        'BAD_QUERY',
        `limit must be a whole number from 1 to ${MAX_LIMIT}, got '${limit}'`,
      );
    }
    query.limit = value;
  }
  return query;
}

/**
 * A page cursor: a job id, or `t:<ms>` for the jobs created before a
 * time. Job ids start with their creation time in base 36, nine digits,
 * so the time alone is an id that sorts before every job of that moment.
 */
function beforeId(before: string): string {
  if (!before.startsWith('t:')) {
    if (!/^[0-9a-z]{1,64}$/.test(before)) {
      throw new WfeError(
        'BAD_QUERY',
        `before must be a job id or t:<epoch ms>, got '${before}'`,
      );
    }
    return before;
  }
  const ms = Number(before.slice(2));
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new WfeError(
      'BAD_QUERY',
      `before=t: needs a time in epoch milliseconds, got '${before}'`,
    );
  }
  return ms.toString(36).padStart(9, '0');
}
