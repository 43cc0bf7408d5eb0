import t from 'tap';

import {
  decodePayload,
  encodePayload,
  MAX_PAYLOAD_BYTES,
  type Payload,
} from '../../../runtime/xmpp/protocol.js';

const done = {
  jobId: 'job-1',
  exitCode: 0,
  signal: null,
  result: { ok: true },
  resultError: null,
  durationMs: 12,
  timedOut: false,
  cancelled: false,
  truncated: { stdout: false, stderr: true },
  chunks: 3,
};

const samples: Payload[] = [
  {
    name: 'run',
    body: {
      jobId: 'job-1',
      agent: 'wire',
      name: 'start-vm.sh',
      source: 'echo hi\n',
      params: { vm: 'web1' },
      timeoutMs: 5000,
    },
  },
  { name: 'kill', body: { jobId: 'job-1', reason: 'cancelled' } },
  { name: 'replay', body: { jobId: 'job-1', fromSeq: 2 } },
  {
    name: 'output',
    body: { jobId: 'job-1', seq: 1, stream: 'stdout', chunk: 'hi\n' },
  },
  { name: 'done', body: done },
  { name: 'ack', body: { jobId: 'job-1' } },
  { name: 'refused', body: { code: 'AGENT_BUSY', message: 'at capacity' } },
];

t.test('xmpp protocol - every payload survives the wire', async (t) => {
  for (const payload of samples) {
    const text = encodePayload(payload);
    t.same(decodePayload(payload.name, text), payload, payload.name);
  }
});

t.test('xmpp protocol - bad payloads name what is wrong', async (t) => {
  const bad: Array<[string, string, RegExp]> = [
    ['hello', '{}', /unknown payload <hello>/],
    ['kill', '{"jobId":', /not JSON/],
    ['kill', '{"reason":"x"}', /missing or wrong fields/],
    ['output', '{"jobId":"j","seq":0,"stream":"stdout","chunk":""}', /wrong/],
    ['replay', '{"jobId":"j","fromSeq":0}', /fromSeq/],
    ['ack', '{"jobId":"a.b"}', /jobId must be/],
    ['done', JSON.stringify({ ...done, chunks: -1 }), /needs exitCode/],
    ['done', JSON.stringify({ ...done, error: 'x' }), /needs exitCode/],
    ['refused', '{"code":1}', /code and a message/],
    ['ack', JSON.stringify({ jobId: 'x'.repeat(MAX_PAYLOAD_BYTES) }), /limit/],
  ];
  for (const [name, text, message] of bad) {
    t.throws(
      () => decodePayload(name, text),
      { code: 'BAD_PAYLOAD', message },
      `${name}: ${text.slice(0, 40)}`,
    );
  }

  t.throws(
    () =>
      decodePayload(
        'run',
        JSON.stringify({ jobId: 'j', name: '../x.sh', source: '', params: {} }),
      ),
    { code: 'BAD_INPUT', details: { field: 'name' } },
    'a run request is checked field by field',
  );
});

t.test(
  'xmpp protocol - an oversized payload is refused before sending',
  async (t) => {
    t.throws(
      () =>
        encodePayload({
          name: 'output',
          body: {
            jobId: 'j',
            seq: 1,
            stream: 'stdout',
            chunk: 'x'.repeat(MAX_PAYLOAD_BYTES),
          },
        }),
      { code: 'PAYLOAD_TOO_LARGE' },
    );
  },
);
