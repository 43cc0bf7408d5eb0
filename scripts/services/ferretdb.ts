import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  findBinary,
  freePort,
  launch,
  runServer,
  waitHttpOk,
  type Launched,
  type ServerProcess,
} from './child-process.js';

/**
 * A real FerretDB (a MongoDB-compatible server) for tests and benchmarks:
 * a child process on free loopback ports, storing its data in SQLite
 * files in a temp folder.
 */
export interface FerretDbOptions {
  /** Where its SQLite files and state go; kept on stop. @default temp */
  dir?: string;
}

/** A running FerretDB; `url` is `mongodb://127.0.0.1:PORT/`. */
export type MongoServer = ServerProcess;

export async function startFerretDb(
  options: FerretDbOptions = {},
): Promise<MongoServer> {
  const binary = findBinary('ferretdb', {
    folders: goBinFolders(),
    installHint:
      'run scripts/services/install.sh (it builds ferretdb with go), ' +
      'or set WFE_MONGODB_URL to a MongoDB server to use instead',
  });
  const ownDir = options.dir === undefined;
  const dir = resolve(
    options.dir ?? (await mkdtemp(join(tmpdir(), 'wfe-ferretdb-'))),
  );
  const port = await freePort();
  const debugPort = await freePort();
  const args = commandLine(dir, port, debugPort);

  return runServer({
    url: `mongodb://127.0.0.1:${port}/`,
    port,
    dir,
    ownDir,
    start: async () => {
      mkdirSync(dir, { recursive: true });
      const child = await launch(binary, args);
      await waitReadyz(child, debugPort);
      return child;
    },
  });
}

/** Where `go install` puts binaries: GOBIN, else each GOPATH's bin. */
function goBinFolders(): string[] {
  const goPaths = (process.env.GOPATH ?? '').split(delimiter).filter(Boolean);
  return [
    ...(process.env.GOBIN ? [process.env.GOBIN] : []),
    ...goPaths.map((goPath) => join(goPath, 'bin')),
    join(homedir(), 'go', 'bin'),
  ];
}

function commandLine(dir: string, port: number, debugPort: number): string[] {
  return [
    '--handler=sqlite',
    // A file: URL of the folder; FerretDB wants the trailing slash.
    `--sqlite-url=${pathToFileURL(dir).href}/`,
    `--state-dir=${dir}`,
    `--listen-addr=127.0.0.1:${port}`,
    `--debug-addr=127.0.0.1:${debugPort}`,
    '--telemetry=disable',
    // Errors only: they are what explains a failed start.
    '--log-level=error',
  ];
}

/** Its readiness probe answers 200 once it accepts MongoDB clients. */
function waitReadyz(child: Launched, debugPort: number): Promise<void> {
  const url = `http://127.0.0.1:${debugPort}/debug/readyz`;
  return waitHttpOk('ferretdb', child, url);
}
