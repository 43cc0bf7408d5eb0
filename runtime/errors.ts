/**
 * Errors cross process boundaries (the DRP, NATS, XMPP), so they are plain
 * data at heart: a stable `code`, a message, and a `retryable` flag. Never
 * match an error by its message text; match its code.
 */
export interface ErrorInfo {
  code: string;
  message: string;
  retryable: boolean;
  details?: unknown;
  cause?: ErrorInfo;
}

export interface WfeErrorOptions {
  retryable?: boolean;
  details?: unknown;
  cause?: unknown;
}

export class WfeError extends Error {
  override readonly name = 'WfeError';
  readonly code: string;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: string, message: string, options: WfeErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  toJSON(): ErrorInfo {
    const info: ErrorInfo = {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
    };
    if (this.details !== undefined) info.details = this.details;
    if (this.cause !== undefined) info.cause = toErrorInfo(this.cause);
    return info;
  }

  /** Rebuilds an error that travelled as data. */
  static fromInfo(info: ErrorInfo): WfeError {
    return new WfeError(info.code, info.message, {
      retryable: info.retryable,
      details: info.details,
      cause: info.cause && WfeError.fromInfo(info.cause),
    });
  }
}

/** Any thrown value, as serialisable error data. */
export function toErrorInfo(
  err: unknown,
  fallbackCode = 'INTERNAL',
): ErrorInfo {
  if (err instanceof WfeError) return err.toJSON();

  if (err instanceof Error) {
    const code = codeOf(err) ?? fallbackCode;
    return { code, message: err.message || err.name, retryable: false };
  }

  return { code: fallbackCode, message: String(err), retryable: false };
}

export function toWfeError(err: unknown, fallbackCode = 'INTERNAL'): WfeError {
  if (err instanceof WfeError) return err;
  const info = toErrorInfo(err, fallbackCode);
  return new WfeError(info.code, info.message, {
    retryable: info.retryable,
    cause: err,
  });
}

// Errors from tasklets may carry their own upper-case code.
function codeOf(err: Error): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  return undefined;
}
