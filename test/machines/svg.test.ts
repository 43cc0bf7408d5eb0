import t from 'tap';

import type { WorkflowDefinition } from '../../machines/definition.js';
import { workflowGraph } from '../../machines/graph.js';
import type { Box, Point } from '../../machines/layout.js';
import { layoutGraph, toSvg, xml } from '../../machines/svg.js';
import { DEPLOY } from './diagram-fixtures.js';
import { all, parseXml } from './xml-check.js';

function inside(inner: Box, outer: Box): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

function touches(point: Point, box: Box): boolean {
  return (
    point.x >= box.x - 1 &&
    point.y >= box.y - 1 &&
    point.x <= box.x + box.width + 1 &&
    point.y <= box.y + box.height + 1
  );
}

t.test('svg - the XML check refuses what is not well-formed', async (t) => {
  t.throws(() => parseXml('<a><b></a></b>'), /unexpected <\/a>/);
  t.throws(() => parseXml('<a>x & y</a>'), /bare &/);
  t.throws(() => parseXml('<a x="1" x="2"/>'), /repeated x/);
  t.throws(() => parseXml('<a x=1/>'), /malformed/);
  t.throws(() => parseXml('<a>1 < 2</a>'), /stray/);
  t.throws(() => parseXml('<a/><b/>'), /not one root/);
  t.throws(() => parseXml('<a>'), /unclosed <a>/);
  t.strictSame(parseXml('<a k="&lt;&#65;">&amp;&#x42;</a>'), {
    name: 'a',
    attributes: { k: '<A' },
    children: [],
    text: '&B',
  });
});

t.test('svg - a well-formed, standalone document', async (t) => {
  const svg = parseXml(await toSvg(workflowGraph(DEPLOY)));

  t.equal(svg.name, 'svg');
  t.equal(svg.attributes.xmlns, 'http://www.w3.org/2000/svg');
  const elements = all(svg);
  t.notOk(elements.some((e) => e.name === 'script' || e.name === 'image'));
  t.notOk(
    elements.some((e) =>
      Object.keys(e.attributes).some((a) => /href|^on/i.test(a)),
    ),
  );
  t.equal(svg.children.find((e) => e.name === 'title')?.text, 'deploy v3');
});

t.test('svg - every state, region and edge label is drawn', async (t) => {
  const graph = workflowGraph(DEPLOY);
  const elements = all(parseXml(await toSvg(graph)));
  const texts = elements.filter((e) => e.name === 'text').map((e) => e.text);
  const groups = new Map(
    elements
      .filter((e) => e.name === 'g' && e.attributes['data-id'])
      .map((e) => [e.attributes['data-id'], e]),
  );

  for (const node of graph.nodes) {
    t.ok(groups.has(node.id), `a group for ${node.id}`);
    if (node.kind === 'start') continue;
    t.ok(texts.includes(node.label), `label ${node.label}`);
    if (node.detail) t.ok(texts.includes(node.detail), node.detail);
  }
  for (const cluster of graph.clusters) t.ok(texts.includes(cluster.label));
  for (const edge of graph.edges) {
    t.ok(groups.has(edge.id));
    if (edge.label) t.ok(texts.includes(edge.label), `edge ${edge.label}`);
  }
  t.equal(
    elements.filter((e) => e.name === 'path' && e.attributes['marker-end'])
      .length,
    graph.edges.length,
  );
});

t.test('svg - boxes nest as the states do', async (t) => {
  const graph = workflowGraph(DEPLOY);
  const layout = await layoutGraph(graph);
  const boxes = new Map<string, Box>(
    [...layout.nodes, ...layout.clusters].map((item) => [item.id, item]),
  );

  for (const node of layout.nodes) {
    t.ok(node.width > 0 && node.height > 0, node.id);
    t.ok(
      inside(node, { x: 0, y: 0, width: layout.width, height: layout.height }),
    );
    if (node.parent)
      t.ok(
        inside(node, boxes.get(node.parent)!),
        `${node.id} in ${node.parent}`,
      );
  }
  for (const cluster of layout.clusters) {
    t.ok(
      inside(cluster, boxes.get(cluster.parent)!),
      `${cluster.id} in ${cluster.parent}`,
    );
  }
  for (const edge of layout.edges) {
    t.ok(edge.points.length >= 2, edge.id);
    t.ok(
      touches(edge.points[0]!, boxes.get(edge.from)!),
      `${edge.id} leaves ${edge.from}`,
    );
    t.ok(
      touches(edge.points.at(-1)!, boxes.get(edge.to)!),
      `${edge.id} reaches ${edge.to}`,
    );
    t.equal(Boolean(edge.labelBox), edge.label !== '');
  }
});

t.test('svg - the drawing uses the layout it is given', async (t) => {
  const graph = workflowGraph(DEPLOY);
  const layout = await layoutGraph(graph);
  const elements = all(parseXml(await toSvg(graph)));

  for (const node of layout.nodes) {
    const group = elements.find(
      (e) => e.name === 'g' && e.attributes['data-id'] === node.id,
    )!;
    const shape = group.children.find(
      (e) => e.name === 'rect' || e.name === 'circle',
    )!;
    if (shape.name === 'circle') {
      t.equal(Number(shape.attributes.cx), node.x + node.width / 2, node.id);
      continue;
    }
    t.strictSame(
      ['x', 'y', 'width', 'height'].map((key) => Number(shape.attributes[key])),
      [node.x, node.y, node.width, node.height],
      node.id,
    );
  }
});

t.test('svg - the same graph gives the same bytes', async (t) => {
  const first = await toSvg(workflowGraph(DEPLOY));
  const [second, third] = await Promise.all([
    toSvg(workflowGraph(structuredClone(DEPLOY))),
    toSvg(workflowGraph(DEPLOY)),
  ]);
  t.equal(second, first);
  t.equal(third, first);
});

t.test('svg - text that is XML syntax is escaped', async (t) => {
  const guard = `p.a < 2 && p.b == "x'y"`;
  const odd: WorkflowDefinition = {
    name: 'a&b',
    version: 1,
    initial: 'pick',
    states: {
      pick: { choose: [{ if: guard, next: 'end' }, { next: 'end' }] },
      end: { final: true },
    },
  };

  const source = await toSvg(workflowGraph(odd));
  const texts = all(parseXml(source))
    .filter((e) => e.name === 'text')
    .map((e) => e.text);
  t.ok(texts.includes(`choose: ${guard}`));
  t.match(source, '<title>a&amp;b v1</title>');
  t.equal(
    xml('<a href="x">&\'</a>'),
    '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;',
  );
  t.equal(
    xml('bell\u0007 \ud800 ok \u{1f600}'),
    'bell\ufffd \ufffd ok \u{1f600}',
  );
});
