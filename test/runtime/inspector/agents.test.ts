import t from 'tap';

import {
  AGENT_PASSWORD,
  startAgentProcess,
} from '../../helpers/agent-process.js';
import { inspectedEngine } from '../../helpers/inspector.js';
import { prosodyServer } from '../../helpers/prosody.js';

t.test('remote agents and their proxies show in the overview', async (t) => {
  const prosody = await prosodyServer(t, {
    accounts: ['wfe', 'web1'].map((user) => ({
      user,
      password: AGENT_PASSWORD,
    })),
  });
  await startAgentProcess(t, prosody.url, 'web1');
  const { engine, get } = await inspectedEngine(
    t,
    {},
    {
      xmpp: {
        url: prosody.url,
        jid: 'wfe@localhost',
        password: AGENT_PASSWORD,
      },
    },
  );

  const job = await engine.submit({
    action: 'hv.remote',
    params: { agent: 'web1' },
  });
  const overview = async () => (await get('/api/overview')).json() as any;
  let seen = await overview();
  while (!seen.agents.some((agent: any) => agent.running === 1)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen = await overview();
  }

  const web1 = seen.agents.find((agent: any) => agent.id === 'web1@localhost');
  t.match(web1, { online: true, running: 1 });
  t.type(web1.lastSeen, 'number');
  const agents = seen.actors.children.find((node: any) => node.id === 'agents');
  t.match(agents, { kind: 'agents', state: '1 rscripts' });
  t.match(agents.children, [
    {
      id: 'agent-proxy:web1@localhost',
      kind: 'agent-proxy',
      restarts: 0,
      mailbox: { name: 'agent-proxy:web1@localhost', capacity: 10_000 },
    },
  ]);
  t.match(await engine.wait(job.id), { status: 'done' });
});
