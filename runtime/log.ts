import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Where lines go; defaults to stderr so that stdout stays for results. */
  destination?: NodeJS.WritableStream | { write(line: string): void };
}

export function createLogger(options: LogOptions = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env.WFE_LOG_LEVEL ?? 'info',
    base: { name: 'wfe' },
    // Errors travel as our serialisable shape, not as stack dumps.
    serializers: { err: pino.stdSerializers.err },
  };
  const destination = options.destination ?? pino.destination(2);
  return pino(config, destination as pino.DestinationStream);
}

/** A logger that drops everything; for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
