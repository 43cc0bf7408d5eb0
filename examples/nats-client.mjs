// Submits an action to a running wfe engine over NATS and follows it.
import { connect, JSONCodec } from 'nats';

const nc = await connect({ servers: process.env.WFE_NATS_URL ?? 'localhost' });
const { encode, decode } = JSONCodec();
const ask = async (subject, body) =>
  decode((await nc.request(subject, encode(body), { timeout: 10_000 })).data);

const submission = { action: 'machine.create', params: { name: 'web1' } };
const { jobId, error } = await ask('wfe.submit', submission);
if (error) throw new Error(`${error.code}: ${error.message}`);

// Listen first, then read: a job that ended in between is not missed.
const events = nc.subscribe(`wfe.jobs.${jobId}.>`);
let { job } = await ask('wfe.jobs.get', { id: jobId });
for await (const message of job.endedAt ? [] : events) {
  const event = decode(message.data);
  if (message.subject.endsWith('.log')) {
    for (const entry of event.entries) console.log(`log: ${entry.message}`);
  } else if ((job = event).endedAt) break;
}
console.log(job.status, JSON.stringify(job.result ?? job.error));
await nc.close();
