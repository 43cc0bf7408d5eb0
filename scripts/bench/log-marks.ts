import { createLogger, type Logger } from '../../runtime/log.js';

/** When the engine logged one message: first and last time, how often. */
export interface LogMark {
  /** performance.now() at the first and the last line. */
  first: number;
  last: number;
  count: number;
  /** The last line, parsed. */
  line: Record<string, unknown>;
}

/**
 * A logger at level info that writes nothing but notes when each
 * message was logged: the engine's own log lines time its phases.
 */
export function markingLogger(): {
  logger: Logger;
  marks: Map<string, LogMark>;
} {
  const marks = new Map<string, LogMark>();
  const write = (line: string): void => {
    const now = performance.now();
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const msg = String(parsed.msg);
    const mark = marks.get(msg);
    if (mark) {
      mark.last = now;
      mark.count++;
      mark.line = parsed;
    } else marks.set(msg, { first: now, last: now, count: 1, line: parsed });
  };
  return {
    logger: createLogger({ level: 'info', destination: { write } }),
    marks,
  };
}
