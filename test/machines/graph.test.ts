import t from 'tap';

import type { WorkflowDefinition } from '../../machines/definition.js';
import { duration, workflowGraph } from '../../machines/graph.js';
import { WfeError } from '../../runtime/errors.js';
import { DEPLOY } from './diagram-fixtures.js';

t.test('graph - every state is a node with its kind and detail', async (t) => {
  const graph = workflowGraph(DEPLOY);

  t.equal(graph.name, 'deploy');
  t.equal(graph.version, 3);
  const web = 'provision.web';
  const db = 'provision.db';
  t.strictSame(graph.nodes, [
    { id: '[*]', label: '', kind: 'start' },
    { id: 'check', label: 'check', kind: 'choice' },
    {
      id: 'approval',
      label: 'approval',
      kind: 'wait',
      detail: 'on approve, reject · timeout 1h',
    },
    { id: 'provision', label: 'provision', kind: 'parallel' },
    { id: `${web}.[*]`, label: '', kind: 'start', parent: web },
    {
      id: `${web}.start`,
      label: 'start',
      kind: 'task',
      detail: 'machine.start',
      parent: web,
    },
    {
      id: `${web}.pause`,
      label: 'pause',
      kind: 'wait',
      detail: 'wait 5s',
      parent: web,
    },
    { id: `${web}.ready`, label: 'ready', kind: 'final', parent: web },
    { id: `${db}.[*]`, label: '', kind: 'start', parent: db },
    {
      id: `${db}.migrate`,
      label: 'migrate',
      kind: 'task',
      detail: 'rscript migrate.sh',
      parent: db,
    },
    { id: `${db}.ready`, label: 'ready', kind: 'final', parent: db },
    { id: 'done', label: 'done', kind: 'final' },
    {
      id: 'rejected',
      label: 'rejected',
      kind: 'final',
      detail: 'error: REJECTED',
    },
    {
      id: 'failed',
      label: 'failed',
      kind: 'final',
      detail: 'error: PROVISION_FAILED',
    },
  ]);
  t.strictSame(graph.clusters, [
    { id: web, label: 'web', parent: 'provision' },
    { id: db, label: 'db', parent: 'provision' },
  ]);
});

t.test('graph - edges carry labels, regions keep their own', async (t) => {
  const edges = workflowGraph(DEPLOY).edges.map((edge) => {
    t.equal(edge.id.startsWith('e'), true);
    return [edge.from, edge.to, edge.label];
  });

  const web = 'provision.web';
  const db = 'provision.db';
  t.strictSame(edges, [
    ['[*]', 'check', ''],
    ['check', 'provision', 'choose: params.force'],
    ['check', 'approval', 'choose: size(params.hosts) > 1 && param…'],
    ['check', 'done', 'otherwise'],
    ['approval', 'provision', 'approve if event.by != params.requester'],
    ['approval', 'rejected', 'reject'],
    ['approval', 'rejected', 'timeout'],
    [`${web}.[*]`, `${web}.start`, ''],
    [`${web}.start`, `${web}.ready`, 'done'],
    [`${web}.start`, `${web}.pause`, 'error: AGENT_LOST'],
    [`${web}.pause`, `${web}.start`, 'after 5s'],
    [`${db}.[*]`, `${db}.migrate`, ''],
    [`${db}.migrate`, `${db}.ready`, 'done'],
    ['provision', 'done', 'done'],
    ['provision', 'failed', 'error: *'],
  ]);
});

t.test('graph - ids are unique and the graph survives JSON', async (t) => {
  const graph = workflowGraph(DEPLOY);
  const ids = [...graph.nodes, ...graph.clusters].map((item) => item.id);
  t.equal(new Set(ids).size, ids.length);
  t.equal(new Set(graph.edges.map((e) => e.id)).size, graph.edges.length);
  t.strictSame(JSON.parse(JSON.stringify(graph)), graph);
});

t.test('graph - delays, any-regions and long guards read short', async (t) => {
  const graph = workflowGraph({
    name: 'short',
    version: 1,
    initial: 'hold',
    states: {
      hold: { delayMs: 'params.wait\n  * 1000', next: 'both' },
      both: {
        parallel: {
          a: { initial: 'x', states: { x: { final: true } } },
          b: { initial: 'y', states: { y: { final: true } } },
        },
        wait: 'any',
        next: 'gate',
      },
      gate: {
        on: {
          go: [
            {
              if: 'event.count > 10 && event.count < 100000000',
              next: 'child',
            },
            { next: 'end' },
          ],
        },
      },
      child: { workflow: 'web.rollout', next: 'end' },
      end: { final: true },
    },
  });

  const detail = (id: string) => graph.nodes.find((n) => n.id === id)?.detail;
  t.equal(detail('hold'), 'wait params.wait * 1000');
  t.equal(detail('both'), 'wait any');
  t.equal(detail('gate'), 'on go');
  t.equal(detail('child'), 'workflow web.rollout');
  t.strictSame(
    graph.edges.map((edge) => edge.label),
    [
      '',
      'after params.wait * 1000',
      '',
      '',
      'done',
      'go if event.count > 10 && event.count…',
      'go',
      'done',
    ],
  );
});

t.test('graph - a guard is cut between characters', async (t) => {
  const long = `${'x'.repeat(30)}😀😀😀`;
  const cut = workflowGraph({
    name: 'cut',
    version: 1,
    initial: 'pick',
    states: {
      pick: { choose: [{ if: long, next: 'end' }, { next: 'end' }] },
      end: { final: true },
    },
  });
  // 33 characters, but 36 UTF-16 units: the cut keeps whole emoji.
  t.equal(cut.edges[1]?.label, `choose: ${'x'.repeat(30)}😀…`);
});

t.test('graph - durations read as people write them', async (t) => {
  t.equal(duration(250), '250ms');
  t.equal(duration(1500), '1.5s');
  t.equal(duration(90_000), '90s');
  t.equal(duration(600_000), '10m');
  t.equal(duration(7_200_000), '2h');
});

t.test('graph - a transition to no state is WORKFLOW_INVALID', async (t) => {
  const broken: WorkflowDefinition = {
    name: 'broken',
    version: 1,
    initial: 'a',
    states: {
      a: {
        parallel: {
          r: { initial: 'b', states: { b: { action: 'x.y', next: 'a' } } },
        },
      },
    },
  };

  const err = t.throws(() => workflowGraph(broken)) as WfeError;
  t.equal(err.code, 'WORKFLOW_INVALID');
  t.equal(err.message, "a.r.b: no state 'a' at this level");
});
