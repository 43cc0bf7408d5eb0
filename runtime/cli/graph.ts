import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { workflowGraph } from '../../machines/graph.js';
import { loadDefinitionFile } from '../../machines/load.js';
import { toMermaid } from '../../machines/mermaid.js';
import { toSvg } from '../../machines/svg.js';
import { WfeError } from '../errors.js';
import { expectPositionals, parseFlags, UsageError } from './args.js';
import type { CliIo, Command } from './io.js';

const HELP = `Usage: wfe graph <file> [flags]

Draws a workflow definition (YAML or JSON) as a state diagram: Mermaid
stateDiagram-v2 text, or a standalone SVG picture. The definition is
checked first, as by 'wfe validate'; an invalid one is an error.

Flags:
  --format FORMAT   mermaid (default) or svg
  --out FILE        write the diagram to FILE instead of stdout
  -h, --help        show this help

Examples:
  wfe graph deploy.yaml
  wfe graph deploy.yaml --format svg --out deploy.svg
`;

const FLAGS = {
  format: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const graphCommand: Command = {
  name: 'graph',
  summary: 'draw a workflow definition as Mermaid or SVG',
  help: HELP,
  run: graph,
};

async function graph(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('graph', argv, FLAGS);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }

  const [file] = expectPositionals('graph', positionals, ['file']) as [string];
  const format = values.format ?? 'mermaid';
  if (format !== 'mermaid' && format !== 'svg') {
    throw new UsageError(
      'graph',
      `--format must be mermaid or svg, got '${format}'`,
    );
  }

  const { definition } = await loadDefinitionFile(path.resolve(io.cwd, file), {
    name: file,
  });
  const diagram = workflowGraph(definition);
  const text = format === 'svg' ? await toSvg(diagram) : toMermaid(diagram);

  if (values.out === undefined) io.stdout(text);
  else await writeOut(path.resolve(io.cwd, values.out), values.out, text);
  return 0;
}

async function writeOut(file: string, name: string, text: string) {
  try {
    await writeFile(file, text);
  } catch (err) {
    throw new WfeError(
      'OUTPUT_UNWRITABLE',
      `cannot write ${name}: ${writeFailure(err)}`,
      {
        details: { file: name },
        cause: err,
      },
    );
  }
}

function writeFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such folder';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}
