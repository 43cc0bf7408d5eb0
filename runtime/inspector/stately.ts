import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';

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

  // Inspection runs inside the actors' own turns: a failure to report
  // must not become theirs.
  let warned = false;
  const inspect = (event: InspectionEvent) => {
    try {
      inspector.inspect.next?.(event);
    } catch (err) {
      if (!warned) logger.warn({ err }, 'an inspection event was not sent');
      warned = true;
    }
  };
  return { inspect, stop: () => inspector.stop() };
}

/**
 * Contexts hold stores, loggers and mailboxes; the inspector gets their
 * plain parts, and the name of anything else, instead of walking them.
 */
function plainContext(
  context: Record<string, unknown>,
): Record<string, unknown> {
  // Actors that are not machines have no context.
  if (typeof context !== 'object' || context === null) return context;
  return plainValue(context, 0) as Record<string, unknown>;
}

const MAX_DEPTH = 4;
const MAX_ENTRIES = 100;

function plainValue(value: unknown, depth: number): unknown {
  if (typeof value === 'function') return '[function]';
  if (typeof value !== 'object' || value === null) return value;
  if (depth === MAX_DEPTH) return '[…]';

  const entries =
    value instanceof Map
      ? [...value.entries()]
      : Array.isArray(value)
        ? value.map((item, index) => [index, item] as const)
        : isPlain(value)
          ? Object.entries(value)
          : null;
  if (entries === null) {
    return `[${(value as object).constructor?.name ?? 'object'}]`;
  }

  const plain = entries
    .slice(0, MAX_ENTRIES)
    .map(([key, item]) => [key, plainValue(item, depth + 1)] as const);
  return Array.isArray(value)
    ? plain.map(([, item]) => item)
    : Object.fromEntries(plain);
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === Object.prototype || prototype === null;
}
