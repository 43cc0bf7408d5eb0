import t from 'tap';

import {
  compileExpression,
  ExpressionError,
} from '../../machines/expressions.js';

function thrown(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
  throw new Error('expected an ExpressionError');
}

t.test('evaluate - values come back as JSON', async (t) => {
  const vars = {
    params: { name: 'web1', memoryMb: 512, ratio: 0.5, tags: ['a', 'b'] },
    target: null,
    ctx: { count: 2 },
  };
  const cases: [string, unknown][] = [
    ['params.name', 'web1'],
    ['params.memoryMb * 2', 1024],
    ['ctx.count + 1', 3],
    ['params.ratio * 4.0', 2],
    ['1 + 2', 3],
    ['size(params.tags)', 2],
    ['target', null],
    ['3u', 3],
    ['[1, "a", null, true]', [1, 'a', null, true]],
    [
      '{"name": params.name, "size": 2, "tags": params.tags}',
      { name: 'web1', size: 2, tags: ['a', 'b'] },
    ],
    ['{1: "one"}', { '1': 'one' }],
    ['timestamp("2024-01-02T03:04:05Z")', '2024-01-02T03:04:05.000Z'],
    ['has(params.host) ? params.host : "local"', 'local'],
  ];
  for (const [text, expected] of cases) {
    t.same(compileExpression(text).evaluate(vars), expected, text);
  }
});

t.test('evaluate - an expression is parsed once, run many times', async (t) => {
  const expression = compileExpression('ctx.n * ctx.n');
  t.equal(expression.text, 'ctx.n * ctx.n');
  t.equal(expression.type, 'dyn');
  t.equal(expression.evaluate({ ctx: { n: 3 } }), 9);
  t.equal(expression.evaluate({ ctx: { n: 4 } }), 16);
  t.equal(compileExpression('1 < 2').type, 'bool');
});

t.test('evaluateBoolean - true or false, anything else fails', async (t) => {
  const guard = compileExpression('ctx.ready');
  t.equal(guard.evaluateBoolean({ ctx: { ready: true } }), true);
  t.equal(guard.evaluateBoolean({ ctx: { ready: false } }), false);

  const error = thrown(() => guard.evaluateBoolean({ ctx: { ready: 'yes' } }));
  t.equal(error.code, 'EXPRESSION_FAILED');
  t.equal(
    error.message,
    'expression `ctx.ready` gave "yes", not true or false',
  );
});

t.test('compile - text that is not CEL is EXPRESSION_INVALID', async (t) => {
  const error = thrown(() => compileExpression('params.x +'));
  t.ok(error instanceof ExpressionError);
  t.equal(error.code, 'EXPRESSION_INVALID');
  t.equal(
    error.message,
    'invalid expression `params.x +`: unexpected token: EOF (at column 11)',
  );
  t.equal(error.expression, 'params.x +');
  t.equal(error.start, 10);
  t.match(error.toJSON(), {
    code: 'EXPRESSION_INVALID',
    details: { expression: 'params.x +', start: 10 },
  });

  const multiline = thrown(() => compileExpression('params.x +\n  )'));
  t.match(multiline.message, /\(at line 2, column 3\)$/);
});

t.test('compile - only the known variables may be named', async (t) => {
  const error = thrown(() => compileExpression('foo.bar == 1'));
  t.equal(error.code, 'EXPRESSION_INVALID');
  t.equal(error.unknownName, 'foo');
  t.equal(
    error.message,
    "unknown name 'foo' in `foo.bar == 1`: expressions here see " +
      'params, target, ctx, event, error',
  );

  const narrowed = thrown(() =>
    compileExpression('ctx.a', { variables: ['params', 'target'] }),
  );
  t.equal(narrowed.unknownName, 'ctx');
  t.match(narrowed.message, /expressions here see params, target$/);

  t.doesNotThrow(() => compileExpression('[1, 2].map(x, x * 2)'));
  t.equal(
    thrown(() => compileExpression('[1].map(x, y)')).unknownName,
    'y',
    'macro variables are local to the macro',
  );
});

t.test(
  'compile - type errors CEL can see are EXPRESSION_INVALID',
  async (t) => {
    const error = thrown(() => compileExpression('1 + "a"'));
    t.equal(error.code, 'EXPRESSION_INVALID');
    t.equal(
      error.message,
      'invalid expression `1 + "a"`: no such overload: int + string (at column 1)',
    );
    t.match(thrown(() => compileExpression('nosuch(1)')).message, /nosuch/);
  },
);

t.test(
  'evaluate - failures are EXPRESSION_FAILED naming the expression',
  async (t) => {
    const missingKey = thrown(() =>
      compileExpression('params.name').evaluate({ params: {} }),
    );
    t.equal(missingKey.code, 'EXPRESSION_FAILED');
    t.equal(
      missingKey.message,
      'expression `params.name` failed: no such key: name (at column 8)',
    );

    const unset = thrown(() => compileExpression('event.by').evaluate({}));
    t.equal(unset.code, 'EXPRESSION_FAILED');
    t.equal(
      unset.message,
      'expression `event.by` failed: unknown variable: event (at column 1)',
    );

    const cases: [string, RegExp][] = [
      ['1 / 0', /failed: division by zero/],
      ['9223372036854775807', /too large for a JSON number/],
      ['1.0 / 0.0', /Infinity is not JSON/],
      ['b"abc"', /a bytes value is not JSON/],
      ['duration("2s")', /value is not JSON/],
    ];
    for (const [text, message] of cases) {
      const error = thrown(() => compileExpression(text).evaluate({}));
      t.equal(error.code, 'EXPRESSION_FAILED', text);
      t.match(error.message, message, text);
    }
  },
);
