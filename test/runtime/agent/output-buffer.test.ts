import t from 'tap';

import { CappedOutput } from '../../../runtime/agent/output-buffer.js';

// Feeds `bytes` one byte per chunk, the worst split a pipe can produce.
function feedBytewise(output: CappedOutput, bytes: Buffer): string {
  let emitted = '';
  for (const byte of bytes) emitted += output.push(Buffer.from([byte]));
  return emitted + output.finish();
}

t.test('output buffer - keeps everything under the cap', async (t) => {
  const output = new CappedOutput('stdout', 100);
  t.equal(output.push(Buffer.from('hello ')), 'hello ');
  t.equal(output.push(Buffer.from('world\n')), 'world\n');
  t.equal(output.finish(), '');
  t.equal(output.text(), 'hello world\n');
  t.equal(output.truncated, false);
  t.equal(output.droppedBytes, 0);
});

t.test(
  'output buffer - characters split across chunks decode whole',
  async (t) => {
    const text = 'aé€😀z';
    const output = new CappedOutput('stdout', 100);
    t.equal(feedBytewise(output, Buffer.from(text)), text);
    t.equal(output.text(), text);
  },
);

t.test('output buffer - the cap never cuts a character', async (t) => {
  // 'a' then a 3-byte '€': a cap of 3 would cut the euro after 2 bytes.
  const output = new CappedOutput('stderr', 3);
  const emitted = feedBytewise(output, Buffer.from('a€€'));
  t.equal(emitted, 'a');
  t.equal(output.droppedBytes, 6);
  t.equal(output.text(), 'a\n[wfe: stderr truncated, 6 bytes dropped]\n');
});

t.test('output buffer - cut inside a single large chunk', async (t) => {
  const output = new CappedOutput('stdout', 9);
  t.equal(output.push(Buffer.from('é'.repeat(10))), 'éééé');
  t.equal(output.push(Buffer.from('more')), '');
  t.equal(output.droppedBytes, 12 + 4);
  t.equal(output.truncated, true);
  t.match(output.text(), /^éééé\n\[wfe: stdout truncated, 16 bytes/);
});

t.test('output buffer - four-byte characters at the cap', async (t) => {
  const output = new CappedOutput('stdout', 6);
  t.equal(feedBytewise(output, Buffer.from('😀😀')), '😀');
  t.equal(output.droppedBytes, 4);
});

t.test('output buffer - a cap of zero keeps nothing', async (t) => {
  const output = new CappedOutput('stdout', 0);
  t.equal(output.push(Buffer.from('abc')), '');
  t.equal(output.text(), '[wfe: stdout truncated, 3 bytes dropped]\n');
});

t.test(
  'output buffer - a marker after a full line needs no newline',
  async (t) => {
    const output = new CappedOutput('stdout', 3);
    output.push(Buffer.from('ab\ncd'));
    t.equal(output.text(), 'ab\n[wfe: stdout truncated, 2 bytes dropped]\n');
  },
);

t.test(
  'output buffer - an unfinished character at the end is shown',
  async (t) => {
    const output = new CappedOutput('stdout', 10);
    t.equal(output.push(Buffer.from([0x61, 0xe2, 0x82])), 'a');
    t.equal(output.finish(), '\ufffd');
    t.equal(output.truncated, false);
  },
);

t.test('output buffer - invalid bytes do not stall the stream', async (t) => {
  const output = new CappedOutput('stdout', 100);
  const bytes = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x41]);
  t.equal(feedBytewise(output, bytes), '\ufffd'.repeat(4) + 'A');
});
