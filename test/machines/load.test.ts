import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

import {
  definitionErrors,
  formatError,
  loadDefinitionFile,
  loadDefinitionText,
  type DefinitionError,
  type LoadOptions,
} from '../../machines/load.js';
import { WfeError } from '../../runtime/errors.js';

const EXAMPLE = fileURLToPath(
  new URL('../../examples/workflows/machine-deploy.yaml', import.meta.url),
);

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wfe-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Writes `lines` as a file, with a script `check.sh` beside it, and
 * returns the errors loading it gives.
 */
async function errorsOf(
  t: Test,
  lines: string[],
  options: LoadOptions = {},
): Promise<DefinitionError[]> {
  const dir = await tempDir(t);
  const file = path.join(dir, 'flow.yaml');
  await writeFile(file, lines.join('\n') + '\n');
  await writeFile(path.join(dir, 'check.sh'), '#!/bin/sh\n');

  const err = await loadDefinitionFile(file, options).then(
    () => t.fail('expected WORKFLOW_INVALID'),
    (err: unknown) => err,
  );
  const errors = definitionErrors(err);
  if (!errors) throw err;
  for (const error of errors) t.equal(error.file, file);
  return errors;
}

/** [line, path, message] of each error, for exact comparison. */
const brief = (errors: DefinitionError[]) =>
  errors.map((e) => [e.line, e.path, e.message]);

const HEAD = ['name: flow', 'version: 1', 'initial: a', 'states:'];

t.test('load - the example definition loads whole', async (t) => {
  const { definition, positions, file } = await loadDefinitionFile(EXAMPLE);

  t.equal(file, EXAMPLE);
  t.equal(definition.name, 'machine-deploy');
  t.equal(definition.version, 1);
  t.equal(definition.implements, 'machine.deploy');
  t.equal(definition.initial, 'create');
  t.match(definition.states.start, {
    action: 'machine.start',
    retry: {
      attempts: 3,
      delayMs: 1000,
      backoff: 2,
      on: ['TIMEOUT', 'CONFLICT'],
    },
    compensate: { action: 'machine.stop' },
  });
  t.match(definition.states.approval, {
    on: { reject: 'rejected' },
    timeoutMs: 86400000,
    onTimeout: 'expired',
  });

  const start = positions.at(['states', 'start']);
  t.same(start, { line: 39, column: 3 });
  t.same(positions.at(['states', 'start', 'retry', 'attempts']), {
    line: 44,
    column: 17,
  });
  t.same(positions.at(['states', 'start', 'nothing']), start, 'nearest');
});

t.test('load - JSON is YAML too, and gives the same definition', async (t) => {
  const { definition } = await loadDefinitionFile(EXAMPLE);
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'rscripts'));
  await writeFile(path.join(dir, 'rscripts', 'health-check.sh'), '');
  const file = path.join(dir, 'deploy.json');
  await writeFile(file, JSON.stringify(definition, null, 2));

  const again = await loadDefinitionFile(file);
  t.same(again.definition, definition);
});

t.test('load - loadDefinitionText checks text without a file', async (t) => {
  const text = [...HEAD, '  a:', '    final: true'].join('\n');
  const { definition } = loadDefinitionText(text, 'inline.yaml');
  t.same(definition.states, { a: { final: true } });
});

t.test('yaml - a syntax error, with its line and column', async (t) => {
  const errors = await errorsOf(t, [
    'name: flow',
    'version: 1',
    'states: [a,',
    '  b',
  ]);
  t.same(
    errors.map((e) => [e.line, e.path]),
    [[5, '']],
  );
  t.match(errors[0]!.message, /^invalid YAML: /);
});

t.test('yaml - duplicate keys, anchors, aliases and tags', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a: &base',
    '    final: true',
    '  b: *base',
    '  c:',
    '    final: !!bool true',
    '  a:',
    '    final: true',
  ]);
  t.same(brief(errors), [
    [5, 'states.a', 'anchors (&base) are not supported'],
    [7, 'states.b', 'aliases (*base) are not supported'],
    [9, 'states.c.final', 'tags (!!bool) are not supported'],
    [10, 'states.a', "duplicate key 'a' (first at line 5)"],
  ]);
});

t.test('yaml - keys must be strings', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    final: true',
    '  1: x',
  ]);
  t.same(brief(errors), [
    [7, 'states', 'a key must be a plain string; quote it'],
  ]);
});

t.test('schema - an unknown key names the known ones', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    action: machine.create',
    '    nxt: b',
    '  b:',
    '    final: true',
  ]);
  t.same(brief(errors), [
    [
      7,
      'states.a.nxt',
      "unknown key 'nxt' in a task state (known: action, rscript, workflow, " +
        'input, target, output, retry, timeoutMs, compensate, next, onError)',
    ],
  ]);
  t.equal(errors[0]!.column, 5, 'points at the key');
});

t.test('schema - wrong types, version 0, bad implements', async (t) => {
  const errors = await errorsOf(t, [
    'name: flow',
    'version: 0',
    'implements: deploy',
    'initial: a',
    'states:',
    '  a:',
    '    action: machine.create',
    '    timeoutMs: 10s',
    '    retry: {attempts: 0, delayMs: 100}',
    '    next: b',
    '  b:',
    '    final: yes',
  ]);
  t.same(brief(errors), [
    [2, 'version', 'must be a positive whole number, got 0'],
    [
      3,
      'implements',
      "must be an action name like 'machine.create' (type.action), got 'deploy'",
    ],
    [
      8,
      'states.a.timeoutMs',
      "must be a whole number of milliseconds (1 or more), got '10s'",
    ],
    [
      9,
      'states.a.retry.attempts',
      'must be a whole number of attempts, at least 1, got 0',
    ],
    [12, 'states.b.final', "must be true, got 'yes'"],
  ]);
});

t.test('schema - missing initial, and bad names', async (t) => {
  const errors = await errorsOf(t, [
    'name: my flow',
    'version: 1',
    'states:',
    '  start here:',
    '    final: true',
  ]);
  t.same(brief(errors), [
    [1, 'initial', "missing: a workflow definition needs 'initial'"],
    [
      1,
      'name',
      "must be a workflow name (parts of a letter then letters, digits, _ or -, joined by '.'), got 'my flow'",
    ],
    [
      4,
      'states["start here"]',
      "'start here' is not a state name (a letter, then letters, digits, _ or -)",
    ],
  ]);
});

t.test('schema - a task state has exactly one step', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    action: machine.create',
    '    workflow: child',
    '    next: b',
    '  b:',
    '    next: c',
    '  c:',
    '    final: true',
  ]);
  t.same(brief(errors), [
    [
      5,
      'states.a',
      'a task state needs exactly one of action, rscript, workflow, not both action and workflow',
    ],
    [9, 'states.b', 'a task state needs one of action, rscript, workflow'],
  ]);
});

t.test('schema - keys that belong to another kind of state', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    action: machine.create',
    '    wait: any',
    '    onTimeout: b',
    '    next: b',
    '  b:',
    '    final: true',
    '    next: a',
  ]);
  t.same(brief(errors), [
    [
      7,
      'states.a.wait',
      "unknown key 'wait' in a task state: 'wait' (all or any) belongs on a parallel state",
    ],
    [
      8,
      'states.a.onTimeout',
      "unknown key 'onTimeout' in a task state: 'onTimeout' belongs on a wait state with 'on' and 'timeoutMs'",
    ],
    [
      12,
      'states.b.next',
      "unknown key 'next' in a final state (known: final, result, error)",
    ],
  ]);
});

t.test(
  'check - initial names no state, at the top and in a region',
  async (t) => {
    const errors = await errorsOf(t, [
      'name: flow',
      'version: 1',
      'initial: begin',
      'states:',
      '  a:',
      '    parallel:',
      '      web:',
      '        initial: go',
      '        states:',
      '          start:',
      '            final: true',
      '    next: b',
      '  b:',
      '    final: true',
    ]);
    t.same(brief(errors), [
      [3, 'initial', "no state 'begin' at the top level (states: a, b)"],
      [
        8,
        'states.a.parallel.web.initial',
        "no state 'go' in region 'web' of 'a' (states: start)",
      ],
    ]);
  },
);

t.test('check - a transition to nowhere, of every kind', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    action: machine.create',
    '    next: nowhere1',
    '    onError:',
    '      TIMEOUT: b',
    "      '*': nowhere2",
    '  b:',
    '    on:',
    '      go: nowhere3',
    '      ok: c',
    '      maybe:',
    '        - if: event.ok',
    '          next: nowhere4',
    '    timeoutMs: 1000',
    '    onTimeout: nowhere5',
    '  c:',
    '    choose:',
    '      - if: params.x == 1',
    '        next: nowhere6',
    '      - next: a',
  ]);
  const nowhere = (n: number) =>
    `no state 'nowhere${n}' at the top level (states: a, b, c)`;
  t.same(brief(errors), [
    [7, 'states.a.next', nowhere(1)],
    [10, 'states.a.onError["*"]', nowhere(2)],
    [13, 'states.b.on.go', nowhere(3)],
    [17, 'states.b.on.maybe[0].next', nowhere(4)],
    [19, 'states.b.onTimeout', nowhere(5)],
    [23, 'states.c.choose[0].next', nowhere(6)],
  ]);
  t.equal(errors[0]!.column, 11, 'points at the value');
});

t.test('check - transitions stay within their region', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    parallel:',
    '      web:',
    '        initial: start',
    '        states:',
    '          start:',
    '            action: machine.start',
    '            next: b',
    '          done:',
    '            final: true',
    '    next: b',
    '  b:',
    '    final: true',
  ]);
  t.same(brief(errors), [
    [
      12,
      'states.a.parallel.web.states.start.next',
      "no state 'b' in region 'web' of 'a' (states: start, done); " +
        "'b' is at the top level, and transitions stay within their level",
    ],
    [
      13,
      'states.a.parallel.web.states.done',
      "state 'done' is never reached from the initial state 'start'",
    ],
  ]);
});

t.test('check - unreachable states and states with no way out', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    action: machine.create',
    '    onError:',
    "      '*': b",
    '  b:',
    '    final: true',
    '  island:',
    '    delayMs: 10',
    '    next: b',
  ]);
  t.same(brief(errors), [
    [
      5,
      'states.a',
      "a task state needs 'next': it has no way out when it succeeds",
    ],
    [
      11,
      'states.island',
      "state 'island' is never reached from the initial state 'a'",
    ],
  ]);
});

t.test(
  'check - wait states: onTimeout, timeoutMs, next, delayMs',
  async (t) => {
    const errors = await errorsOf(t, [
      ...HEAD,
      '  a:',
      '    on:',
      '      go: b',
      '    onTimeout: b',
      '    next: b',
      '  b:',
      '    delayMs: 100',
      '    timeoutMs: 50',
      '  c:',
      '    final: true',
    ]);
    t.same(brief(errors), [
      [
        8,
        'states.a.onTimeout',
        "'onTimeout' needs 'timeoutMs', how long to wait for the 'on' events",
      ],
      [
        9,
        'states.a.next',
        "'next' is never taken: without 'delayMs', a wait moves on by its 'on' events only",
      ],
      [
        11,
        'states.b.delayMs',
        "a wait with 'delayMs' needs 'next', where it goes after the delay",
      ],
      [
        12,
        'states.b.timeoutMs',
        "'timeoutMs' limits the wait for 'on' events, and this state has none",
      ],
      [13, 'states.c', "state 'c' is never reached from the initial state 'a'"],
    ]);
  },
);

t.test('check - expressions compile, with the CEL message', async (t) => {
  const errors = await errorsOf(t, [
    'name: flow',
    'version: 1',
    'context:',
    '  who: ctx.user',
    'initial: a',
    'states:',
    '  a:',
    '    rscript:',
    '      agent: local',
    '      script: check.sh',
    '      args: [params.x +]',
    '    input:',
    '      size: \'1 + "a"\'',
    '    next: b',
    '  b:',
    '    choose:',
    '      - if: ctx.name',
    '        next: c',
    '      - if: event.ok',
    '        next: c',
    '  c:',
    '    final: true',
    '    result: "{\'a\': }"',
  ]);
  t.same(brief(errors), [
    [
      4,
      'context.who',
      "unknown name 'ctx' in `ctx.user`: expressions here see params, target",
    ],
    [
      9,
      'states.a.rscript.agent',
      "unknown name 'local' in `local`: expressions here see params, target, " +
        `ctx, error; for text, quote it: "'local'"`,
    ],
    [
      11,
      'states.a.rscript.args[0]',
      'invalid expression `params.x +`: unexpected token: EOF (at column 11)',
    ],
    [
      13,
      'states.a.input.size',
      'invalid expression `1 + "a"`: no such overload: int + string (at column 1)',
    ],
    [
      19,
      'states.b.choose[1].if',
      "unknown name 'event' in `event.ok`: expressions here see params, " +
        'target, ctx, error',
    ],
    [
      23,
      'states.c.result',
      "invalid expression `{'a': }`: unexpected token: RBRACE (at column 7)",
    ],
  ]);
});

t.test('errors - empty values and folded expressions', async (t) => {
  const empty = await errorsOf(t, [...HEAD, '  a:']);
  t.same(brief(empty), [[5, 'states.a', 'must be a map, got null']]);
  t.equal(empty[0]!.column, 3, 'points at the key of an empty value');

  const folded = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    final: true',
    '    result: >',
    '      {"a":',
    '        ctx.',
    '      }',
  ]);
  t.same(brief(folded), [
    [
      7,
      'states.a.result',
      'invalid expression `{"a": ctx. }`: expected IDENTIFIER, got RBRACE ' +
        '(at line 3, column 1)',
    ],
  ]);
});

t.test('check - a guard must give true or false', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    choose:',
    '      - if: "\'yes\'"',
    '        next: b',
    '      - next: b',
    '  b:',
    '    final: true',
  ]);
  t.same(brief(errors), [
    [
      7,
      'states.a.choose[0].if',
      "`'yes'` gives a string, where true or false is needed",
    ],
  ]);
});

t.test('check - types CEL can tell, and contradictions', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    delayMs: "\'soon\'"',
    '    next: b',
    '  b:',
    '    choose:',
    '      - next: c',
    '      - if: ctx.x',
    '        next: d',
    '  c:',
    '    final: true',
    '    result: ctx',
    '    error:',
    '      code: FAILED',
    '  d:',
    '    action: machine.start',
    '    compensate:',
    '      action: machine.stop',
    '      input:',
    '        why: error.message',
    '      target: "[1]"',
    '    next: c',
  ]);
  t.same(brief(errors), [
    [
      6,
      'states.a.delayMs',
      "`'soon'` gives a string, where a number is needed",
    ],
    [
      11,
      'states.b.choose[1]',
      "never tried: the choice at index 0 has no 'if' and always matches",
    ],
    [16, 'states.c.error', 'a final state has a result or an error, not both'],
    [
      24,
      'states.d.compensate.target',
      '`[1]` gives a list<int>, where a string is needed',
    ],
  ]);
});

t.test('check - names outside the file, when they are known', async (t) => {
  const lines = [
    'name: flow',
    'version: 1',
    'implements: vm.deploy',
    'initial: a',
    'states:',
    '  a:',
    '    action: machine.creat',
    '    compensate:',
    '      action: machine.stop',
    '    next: b',
    '  b:',
    '    workflow: child',
    '    next: c',
    '  c:',
    '    rscript:',
    '      agent: "\'local\'"',
    '      script: rscripts/missing.sh',
    '    next: d',
    '  d:',
    '    final: true',
  ];
  const options = {
    knownActions: new Set(['machine.create', 'machine.start']),
    knownWorkflows: new Set(['other']),
  };
  const errors = await errorsOf(t, lines, options);
  const dir = path.dirname(errors[0]!.file);

  t.same(brief(errors), [
    [3, 'implements', "no known action is on type 'vm' (types: machine)"],
    [
      7,
      'states.a.action',
      "unknown action 'machine.creat': no tasklet provides it",
    ],
    [
      9,
      'states.a.compensate.action',
      "unknown action 'machine.stop': no tasklet provides it",
    ],
    [12, 'states.b.workflow', "unknown workflow 'child'"],
    [
      17,
      'states.c.rscript.script',
      `no script file ${path.join(dir, 'rscripts', 'missing.sh')}`,
    ],
  ]);

  const text = lines.join('\n');
  t.doesNotThrow(
    () => loadDefinitionText(text, 'flow.yaml'),
    'without known names or a script folder, names are not checked',
  );
});

t.test('check - many errors are all reported, in file order', async (t) => {
  const errors = await errorsOf(t, [
    ...HEAD,
    '  a:',
    '    action: machine.create',
    '    input:',
    '      name: params.',
    '    next: gone',
    '  b:',
    '    final: true',
  ]);
  t.same(
    errors.map((e) => [e.line, e.path]),
    [
      [8, 'states.a.input.name'],
      [9, 'states.a.next'],
      [10, 'states.b'],
    ],
  );
});

t.test(
  'errors - one WfeError listing them, formatted FILE:LINE:COL',
  async (t) => {
    const text = [...HEAD, '  a:', '    action: machine.create'].join('\n');
    const err = (() => {
      try {
        loadDefinitionText(text, 'flow.yaml');
      } catch (err) {
        return err;
      }
    })();

    t.ok(err instanceof WfeError);
    const error = err as WfeError;
    t.equal(error.code, 'WORKFLOW_INVALID');
    t.equal(
      error.message,
      'flow.yaml: invalid workflow definition (1 error):\n' +
        "flow.yaml:5:3: states.a: a task state needs 'next': it has no way out when it succeeds",
    );
    t.match(error.toJSON(), {
      details: { file: 'flow.yaml', errors: [{ line: 5, column: 3 }] },
    });

    t.equal(
      formatError({
        file: 'f.yaml',
        line: 1,
        column: 2,
        path: '',
        message: 'm',
      }),
      'f.yaml:1:2: m',
      'no path for the whole file',
    );
    t.equal(definitionErrors(new WfeError('OTHER', 'x')), undefined);
  },
);

t.test('errors - the whole file: empty, not a map, unreadable', async (t) => {
  t.same(await errorsOf(t, ['# nothing here']).then(brief), [
    [1, '', 'must be a map, got null'],
  ]);
  t.same(await errorsOf(t, ['- a', '- b']).then(brief), [
    [1, '', 'must be a map, got a list'],
  ]);

  const dir = await tempDir(t);
  await t.rejects(loadDefinitionFile(path.join(dir, 'missing.yaml')), {
    code: 'WORKFLOW_UNREADABLE',
    message: `cannot read ${path.join(dir, 'missing.yaml')}: no such file`,
  });
  await t.rejects(loadDefinitionFile(dir, { name: 'here' }), {
    code: 'WORKFLOW_UNREADABLE',
    message: 'cannot read here: it is a folder',
  });
});
