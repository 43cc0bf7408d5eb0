import { createWebSocketInspector } from '@statelyai/inspect';

import { WfeError } from '../errors.js';
import type { Inspect } from '../inspection.js';
import type { Logger } from '../log.js';

export interface StatelyStream {
  inspect: Inspect;
  stop(): void;
}

/**
 * Streams every actor's inspection events to a WebSocket server in the
 * form the Stately inspector reads (`@statelyai/inspect`), for people who
 * already watch their machines there. Until the server answers, the
 * adapter keeps the latest events and reconnects every 5 s on its own.
 */
export function startStatelyStream(url: string, logger: Logger): StatelyStream {
  if (!/^wss?:\/\/[^\s/]+/.test(url)) {
    throw new WfeError(
      'BAD_CONFIG',
      `--stately-inspect needs a WebSocket address like ws://127.0.0.1:8080, ` +
        `got '${url}'`,
    );
  }
  const inspector = createWebSocketInspector({
    url,
    sanitizeContext: plainContext,
  });
  logger.info({ url }, 'streaming inspection events to a Stately inspector');
  return { inspect: inspector.inspect, stop: () => inspector.stop() };
}

/**
 * Contexts hold stores, loggers and mailboxes; the inspector gets their
 * plain parts, and the name of anything else, instead of walking them.
 */
function plainContext(
  context: Record<string, unknown>,
): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    plain[key] = plainValue(value);
  }
  return plain;
}

function plainValue(value: unknown): unknown {
  if (typeof value === 'function') return '[function]';
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Map) return Object.fromEntries(value);
  if (Array.isArray(value)) return value.length <= 100 ? value : '[array]';
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype === Object.prototype || prototype === null) {
    return Object.keys(value).length <= 50 ? value : '[object]';
  }
  return `[${(value as object).constructor?.name ?? 'object'}]`;
}
