import type { IncomingMessage, ServerResponse } from 'node:http';

import { toErrorInfo, WfeError } from '../errors.js';

const STATUS_OF: Record<string, number> = {
  BAD_INPUT: 400,
  BAD_JSON: 400,
  BAD_EVENT: 400,
  BAD_QUERY: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  JOB_FINISHED: 409,
  JOB_NOT_RUNNING_HERE: 409,
  WORKFLOW_ENDED: 409,
  NOT_A_WORKFLOW: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_SUPPORTED: 501,
  SHUTTING_DOWN: 503,
  UI_NOT_BUILT: 503,
};

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  response.end(text);
}

/** An error as the page reads it: its code, message and HTTP status. */
export function sendError(response: ServerResponse, err: unknown): void {
  const { code, message } = toErrorInfo(err);
  const status = STATUS_OF[code] ?? 500;
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, status, { error: { code, message } });
}

const MAX_BODY_BYTES = 64 * 1024;

/** The request's JSON body, refused when too large or not JSON. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new WfeError(
        'PAYLOAD_TOO_LARGE',
        `the body is larger than ${MAX_BODY_BYTES} bytes`,
      );
    }
    chunks.push(chunk as Buffer);
  }

  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WfeError(
      'BAD_JSON',
      `the body is not JSON: ${(err as Error).message}`,
    );
  }
}
