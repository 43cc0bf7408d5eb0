import t from 'tap';

import { RunOutput } from '../../actors/run-output.js';

const chunk = (
  seq: number,
  text: string,
  stream: 'stdout' | 'stderr' = 'stdout',
) => ({
  jobId: 'j',
  seq,
  stream,
  chunk: text,
});

t.test('run output - chunks go on in order, each once', async (t) => {
  const passed: string[] = [];
  const output = new RunOutput((seq, stream, text) =>
    passed.push(`${seq}:${stream}:${text}`),
  );

  output.add(chunk(2, 'b'));
  t.same(passed, [], 'a chunk ahead of its turn waits');
  output.add(chunk(1, 'a'));
  output.add(chunk(1, 'a'));
  output.add(chunk(3, 'c', 'stderr'));

  t.same(passed, ['1:stdout:a', '2:stdout:b', '3:stderr:c']);
  t.equal(output.missing(3), 0);
  t.equal(output.text('stdout'), 'ab');
  t.equal(output.text('stderr'), 'c');
});

t.test('run output - gaps given up on are said', async (t) => {
  const passed: string[] = [];
  const output = new RunOutput((_seq, _stream, text) => passed.push(text));

  output.add(chunk(1, 'a'));
  output.add(chunk(3, 'c'));
  t.equal(output.missing(4), 3, 'chunks 2 to 4 are not in order yet');

  t.equal(output.closeWithGaps(4), 2, 'chunks 2 and 4 never came');
  t.same(passed, ['a', 'c', '\n[wfe: 2 output chunks lost]\n']);
  t.equal(output.emitted, 3, 'renumbered without gaps');
});
