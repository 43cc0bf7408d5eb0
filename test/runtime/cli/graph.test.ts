import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';

import { workflowGraph } from '../../../machines/graph.js';
import { toMermaid } from '../../../machines/mermaid.js';
import { toSvg } from '../../../machines/svg.js';
import { DEPLOY } from '../../machines/diagram-fixtures.js';
import { wfe, workspace } from './cli-io.js';

/** A folder with deploy.yaml, deploy.json and the rscript they name. */
async function deployFiles(t: Test): Promise<string> {
  const dir = await workspace(t);
  await writeFile(path.join(dir, 'deploy.yaml'), stringify(DEPLOY));
  await writeFile(path.join(dir, 'deploy.json'), JSON.stringify(DEPLOY));
  await writeFile(path.join(dir, 'migrate.sh'), '#!/bin/sh\n');
  return dir;
}

t.test('graph - prints Mermaid text by default', async (t) => {
  const cwd = await deployFiles(t);

  const result = await wfe(['graph', 'deploy.yaml'], { cwd });

  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  t.equal(result.stdout, toMermaid(workflowGraph(DEPLOY)));
});

t.test('graph - --format svg prints the SVG picture', async (t) => {
  const cwd = await deployFiles(t);

  const result = await wfe(['graph', 'deploy.json', '--format', 'svg'], {
    cwd,
  });

  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, await toSvg(workflowGraph(DEPLOY)));
});

t.test('graph - --out writes the file and prints nothing', async (t) => {
  const cwd = await deployFiles(t);

  const svg = await wfe(
    ['graph', 'deploy.yaml', '--format=svg', '--out', 'deploy.svg'],
    { cwd },
  );
  const mermaid = await wfe(['graph', 'deploy.yaml', '--out', 'deploy.mmd'], {
    cwd,
  });

  t.equal(svg.code, 0, svg.stderr);
  t.equal(svg.stdout, '');
  t.equal(
    await readFile(path.join(cwd, 'deploy.svg'), 'utf8'),
    await toSvg(workflowGraph(DEPLOY)),
  );
  t.equal(mermaid.code, 0, mermaid.stderr);
  t.equal(
    await readFile(path.join(cwd, 'deploy.mmd'), 'utf8'),
    toMermaid(workflowGraph(DEPLOY)),
  );
});

t.test('graph - an invalid definition prints its errors', async (t) => {
  const cwd = await workspace(t);
  await writeFile(
    path.join(cwd, 'flow.yaml'),
    [
      'name: flow',
      'version: 1',
      'initial: a',
      'states:',
      '  a: { action: x.y, next: nowhere }',
      '  b: { final: true }',
    ].join('\n'),
  );

  const result = await wfe(['graph', 'flow.yaml'], { cwd });

  t.equal(result.code, 1);
  t.equal(result.stdout, '');
  t.match(
    result.stderr,
    /^wfe: WORKFLOW_INVALID: flow\.yaml: invalid workflow definition \(\d+ errors?\):\nflow\.yaml:5:\d+: states\.a\.next: no state 'nowhere'/,
  );
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

t.test('graph - a missing file is named plainly', async (t) => {
  const cwd = await workspace(t);

  const result = await wfe(['graph', 'nope.yaml'], { cwd });

  t.equal(result.code, 1);
  t.equal(
    result.stderr,
    'wfe: WORKFLOW_UNREADABLE: cannot read nope.yaml: no such file\n',
  );
});

t.test('graph - an --out folder that does not exist', async (t) => {
  const cwd = await deployFiles(t);

  const result = await wfe(
    ['graph', 'deploy.yaml', '--out', 'missing/deploy.mmd'],
    { cwd },
  );

  t.equal(result.code, 1);
  t.equal(
    result.stderr,
    'wfe: OUTPUT_UNWRITABLE: cannot write missing/deploy.mmd: no such folder\n',
  );
});

t.test('graph - usage mistakes exit 2', async (t) => {
  const cwd = await deployFiles(t);

  const format = await wfe(['graph', 'deploy.yaml', '--format', 'png'], {
    cwd,
  });
  const missing = await wfe(['graph'], { cwd });

  t.equal(format.code, 2);
  t.equal(
    format.stderr,
    "wfe: --format must be mermaid or svg, got 'png' (see wfe graph --help)\n",
  );
  t.equal(missing.code, 2);
  t.match(missing.stderr, 'missing argument <file>');
});

t.test('graph - is listed and has help', async (t) => {
  const list = await wfe(['--help']);
  const help = await wfe(['graph', '--help']);

  t.match(list.stdout, /\n {2}graph +draw a workflow definition/);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: wfe graph <file> \[flags\]/);
});
