import t from 'tap';

import type { WorkflowDefinition } from '../../machines/definition.js';
import { workflowGraph } from '../../machines/graph.js';
import { escapeText, toMermaid } from '../../machines/mermaid.js';

const APPROVE: WorkflowDefinition = {
  name: 'approve',
  version: 1,
  initial: 'ask',
  states: {
    ask: {
      on: { approve: 'work', reject: 'no' },
      timeoutMs: 600_000,
      onTimeout: 'no',
    },
    work: {
      parallel: {
        a: {
          initial: 'run',
          states: {
            run: { action: 'job.run', next: 'ok' },
            ok: { final: true },
          },
        },
        b: {
          initial: 'wait',
          states: {
            wait: { delayMs: 1000, next: 'ok' },
            ok: { final: true },
          },
        },
      },
      next: 'yes',
      onError: { TIMEOUT: 'no' },
    },
    yes: { final: true },
    no: { final: true, error: { code: 'DECLINED' } },
  },
};

t.test('mermaid - regions are composite states split by --', async (t) => {
  t.equal(
    toMermaid(workflowGraph(APPROVE)),
    `stateDiagram-v2
  state "ask" as ask
  ask : on approve, reject · timeout 10m
  state "work" as work
  state work {
    state "a" as work_a
    state work_a {
      state "run" as work_a_run
      work_a_run : job.run
      state "ok" as work_a_ok
      [*] --> work_a_run
      work_a_run --> work_a_ok : done
      work_a_ok --> [*]
    }
    --
    state "b" as work_b
    state work_b {
      state "wait" as work_b_wait
      work_b_wait : wait 1s
      state "ok" as work_b_ok
      [*] --> work_b_wait
      work_b_wait --> work_b_ok : after 1s
      work_b_ok --> [*]
    }
  }
  state "yes" as yes
  state "no" as no
  no : error#58; DECLINED
  [*] --> ask
  ask --> work : approve
  ask --> no : reject
  ask --> no : timeout
  work --> yes : done
  work --> no : error#58; TIMEOUT
  yes --> [*]
  no --> [*]
`,
  );
});

const GUARD = 'a: b; c # "e" <x> & %%';

const ODD: WorkflowDefinition = {
  name: 'odd',
  version: 1,
  initial: 'default',
  states: {
    default: { choose: [{ if: GUARD, next: 'class' }, { next: 'a-b' }] },
    class: {
      parallel: {
        note: {
          initial: 'state',
          states: {
            state: { on: { 'ev-x': [{ if: 'event.k == "[["', next: 'end' }] } },
            end: { final: true },
          },
        },
        direction: { initial: 'end', states: { end: { final: true } } },
      },
      wait: 'any',
      next: 'a_b',
    },
    'a-b': { action: 'x.y', next: 'direction' },
    a_b: { delayMs: 'ctx.ms; 1', next: 'direction' },
    direction: { final: true, error: { code: 'E' } },
  },
};

t.test('mermaid - ids keep clear of keywords and of each other', async (t) => {
  const lines = toMermaid(workflowGraph(ODD)).split('\n');

  for (const line of [
    '  state "default" as _default',
    '  state "class · wait any" as _class',
    '  state _class {',
    '    state "note" as _class_note',
    '      state "state" as _class_note_state',
    '    state "directio#110;" as _class_direction_',
    '  state "a-b" as a_b',
    '  state "a_b" as a_b_2',
    '  state "directio#110;" as _direction_',
    '  _class --> a_b_2 : done',
    '  a_b_2 --> _direction_ : after ctx.ms#59; 1',
  ]) {
    t.ok(lines.includes(line), line);
  }
});

t.test('mermaid - labels cannot end or hide a statement', async (t) => {
  const text = toMermaid(workflowGraph(ODD));

  t.match(
    text,
    '  _default --> _class : choose#58; ' +
      'a#58; b#59; c #35; #34;e#34; #60;x> #38; #37;#37;\n',
  );
  t.match(
    text,
    '_class_note_state --> _class_note_end : ' +
      'ev-x if event.k == #34;#91;[#34;\n',
  );
  for (const line of text.split('\n').slice(1, -1)) {
    t.match(line, STATEMENT, line);
  }
});

// The statements toMermaid writes, with label text free of `:`, `;`, `"`,
// `#` (but in `#code;`), `<`, `&`, `%` and of `[[`.
const TEXT = String.raw`(?:[^:;"#<&%\[]|#\d+;|\[(?!\[))+`;
const ID = String.raw`(?:\w+|\[\*\])`;
const STATEMENT = new RegExp(
  '^ *(?:' +
    [
      `state "${TEXT}" as \\w+`,
      `state \\w+ \\{`,
      '\\}',
      '--',
      `${ID} --> ${ID}(?: : ${TEXT})?`,
      `\\w+ : ${TEXT}`,
    ].join('|') +
    ')$',
);

t.test('mermaid - escapeText', async (t) => {
  t.equal(
    escapeText('plain words (1 + 2) != x.y'),
    'plain words (1 + 2) != x.y',
  );
  t.equal(escapeText('a:b;c'), 'a#58;b#59;c');
  t.equal(escapeText('"q" #1 <b> & %'), '#34;q#34; #35;1 #60;b> #38; #37;');
  t.equal(escapeText('line\nbreak\t tab'), 'line break tab');
  t.equal(escapeText('`md` \\ é ✓'), '#96;md#96; #92; é ✓');
  t.equal(escapeText('[[choice]] x[1]'), '#91;[choice]] x[1]');
  t.equal(escapeText('set Direction LR'), 'set Directio#110; LR');
  t.equal(escapeText('\u0085'), '#133;');
});
