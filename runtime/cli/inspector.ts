import type { Engine } from '../engine.js';
import { isLoopback } from '../inspector/auth.js';
import {
  startInspector,
  DEFAULT_INSPECTOR_PORT,
  type Inspector,
} from '../inspector/server.js';
import {
  startStatelyStream,
  type StatelyStream,
} from '../inspector/stately.js';
import { engineTarget } from '../inspector/target.js';
import type { Logger } from '../log.js';
import { UsageError } from './args.js';
import type { CliIo } from './io.js';

export const INSPECTOR_FLAGS = {
  'inspector-host': { type: 'string' },
  'inspector-port': { type: 'string' },
  'inspector-token': { type: 'string' },
  'no-inspector': { type: 'boolean' },
  'stately-inspect': { type: 'string' },
} as const;

export function inspectorFlagHelp(): string {
  return `  --inspector-port N  serve the inspector page on port N (env
                   WFE_INSPECTOR_PORT; default ${DEFAULT_INSPECTOR_PORT}, or any
                   free port when that one is taken; 0: any free port)
  --inspector-host ADDR  the address it listens on (env
                   WFE_INSPECTOR_HOST, default 127.0.0.1); any other
                   address needs a token
  --inspector-token T  the inspector's access token (better: env
                   WFE_INSPECTOR_TOKEN)
  --no-inspector   do not serve the inspector
  --stately-inspect URL  also stream actor inspection events to a
                   Stately inspector's WebSocket server, e.g.
                   ws://127.0.0.1:8080 (env WFE_STATELY_INSPECT)`;
}

export interface InspectorSettings {
  enabled: boolean;
  host: string;
  port: number | undefined;
  token: string | undefined;
  stately: string | undefined;
}

type InspectorFlagValues = {
  [K in keyof typeof INSPECTOR_FLAGS]?: K extends 'no-inspector'
    ? boolean
    : string;
};

/** The inspector's settings from flags, then env; bad ones are usage errors. */
export function inspectorSettings(
  io: CliIo,
  values: InspectorFlagValues,
): InspectorSettings {
  const env = io.env;
  const portText = values['inspector-port'] ?? env.WFE_INSPECTOR_PORT;
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(
        'start',
        `--inspector-port must be a port number from 0 to 65535, ` +
          `got '${portText}'`,
      );
    }
  }
  const settings = {
    enabled: values['no-inspector'] !== true,
    host: values['inspector-host'] ?? (env.WFE_INSPECTOR_HOST || '127.0.0.1'),
    port,
    token: values['inspector-token'] ?? (env.WFE_INSPECTOR_TOKEN || undefined),
    stately:
      values['stately-inspect'] ?? (env.WFE_STATELY_INSPECT || undefined),
  };
  if (settings.enabled && !isLoopback(settings.host) && !settings.token) {
    throw new UsageError(
      'start',
      `--inspector-host ${settings.host} lets other hosts in: give an ` +
        'access token with WFE_INSPECTOR_TOKEN (or --inspector-token)',
    );
  }
  return settings;
}

export function statelyFor(
  settings: InspectorSettings,
  logger: Logger,
): StatelyStream | null {
  if (settings.stately === undefined) return null;
  return startStatelyStream(settings.stately, logger);
}

export async function inspectorFor(
  engine: Engine,
  settings: InspectorSettings,
  version: string,
): Promise<Inspector | null> {
  if (!settings.enabled) return null;
  return startInspector({
    target: engineTarget(engine),
    host: settings.host,
    port: settings.port,
    token: settings.token,
    version,
  });
}
