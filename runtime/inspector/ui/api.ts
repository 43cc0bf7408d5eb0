// Fetch helpers for the inspector API. Every failure becomes an ApiError
// with a message fit to show as is, so pages never render a blank.

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const TOKEN_MESSAGE =
  'access token required: open the inspector URL printed by `wfe start`';

/** GETs a JSON document from the inspector API. */
export async function getJson<T>(path: string): Promise<T> {
  return request<T>(path, { headers: { Accept: 'application/json' } });
}

/** GETs a text document (the workflow diagram). */
export async function getText(path: string): Promise<string> {
  const response = await send(path, {});
  return response.text();
}

/**
 * POSTs a JSON body. The content type is what the server checks against
 * cross-site requests, so it is always set.
 */
export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: {
      Accept: 'application/json',
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
}

/** Turns anything thrown into a message for the page. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    // Our own messages for these say all there is; a code adds noise.
    if (error.status === 401 || error.code === 'UNREACHABLE') {
      return error.message;
    }
    return `${error.code}: ${error.message}`;
  }

  if (error instanceof Error) return error.message;

  return String(error);
}

async function request<T>(path: string, init: RequestInit): Promise<T> {
  const response = await send(path, init);
  const text = await response.text();
  if (!text) return undefined as T;

  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError('BAD_RESPONSE', `${path} did not answer JSON`, 0);
  }
}

async function send(path: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { credentials: 'same-origin', ...init });
  } catch {
    throw new ApiError(
      'UNREACHABLE',
      'the inspector server does not answer (is the engine running?)',
      0,
    );
  }

  if (response.ok) return response;

  throw await toApiError(response);
}

async function toApiError(response: Response): Promise<ApiError> {
  if (response.status === 401) {
    return new ApiError('UNAUTHORIZED', TOKEN_MESSAGE, 401);
  }

  let code = `HTTP_${response.status}`;
  let message = response.statusText || 'request failed';
  try {
    const body = (await response.json()) as {
      error?: { code?: unknown; message?: unknown };
    };
    if (typeof body?.error?.code === 'string') code = body.error.code;
    if (typeof body?.error?.message === 'string') {
      message = body.error.message;
    }
  } catch {
    // Not a JSON error body (a proxy page, say): keep the HTTP status.
  }

  return new ApiError(code, message, response.status);
}
