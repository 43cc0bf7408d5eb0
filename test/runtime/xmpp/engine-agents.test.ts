import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { createEngine } from '../../../runtime/engine.js';
import { silentLogger } from '../../../runtime/log.js';
import {
  AGENT_PASSWORD,
  startAgentProcess,
} from '../../helpers/agent-process.js';
import { testEngine } from '../../helpers/engine.js';
import { prosodyServer } from '../../helpers/prosody.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PASSWORD = AGENT_PASSWORD;

t.test(
  'xmpp engine - an action runs rscripts on two remote agents',
  async (t) => {
    const prosody = await prosodyServer(t, {
      accounts: ['wfe', 'web1', 'web2'].map((user) => ({
        user,
        password: PASSWORD,
      })),
    });
    const pids = [
      (await startAgentProcess(t, prosody.url, 'web1')).pid!,
      (await startAgentProcess(t, prosody.url, 'web2')).pid!,
    ];

    const { engine } = await testEngine(
      t,
      {
        'actor/shell/where/main.mjs': `
        export async function main(ctx) {
          const runs = await Promise.all(
            ['web1', 'web2'].map((agent) =>
              ctx.agents.run(agent, 'where.sh', { params: { agent } }),
            ),
          );
          return runs.map((run) => run.stdout.trim());
        }
      `,
        'actor/shell/where/where.sh':
          'echo "$(cat "$WFE_PARAMS_FILE") under $PPID"\n',
      },
      {
        xmpp: { url: prosody.url, jid: 'wfe@localhost', password: PASSWORD },
      },
    );

    const job = await engine.run({ action: 'shell.where' });
    t.equal(job.status, 'done', JSON.stringify(job.error));
    t.same(
      job.result,
      [
        `{"agent":"web1"} under ${pids[0]}`,
        `{"agent":"web2"} under ${pids[1]}`,
      ],
      'each script ran in its own agent process',
    );

    const tree = await engine.store.jobTree(job.id);
    t.equal(tree.length, 3, 'two rscript jobs below the action');
    const logs = await engine.store.jobLogs(tree[1]!.id);
    t.match(
      logs.map((entry) => entry.message).join(''),
      /under/,
      'the rscript output is in its job log',
    );
  },
);

t.test(
  'xmpp engine - the hypervisor example starts a VM on its host',
  async (t) => {
    const prosody = await prosodyServer(t, {
      accounts: ['wfe', 'web1'].map((user) => ({ user, password: PASSWORD })),
    });
    const dir = t.testdir();
    const vms = join(dir, 'vms');
    await startAgentProcess(t, prosody.url, 'web1', { WFE_VM_ROOT: vms });

    const engine = await createEngine({
      taskletRoots: [join(root, 'examples', 'tasklets')],
      dataDir: join(dir, 'data'),
      logger: silentLogger(),
      xmpp: { url: prosody.url, jid: 'wfe@localhost', password: PASSWORD },
    });
    t.teardown(() => engine.stop());

    const created = await engine.run({
      action: 'machine.create',
      params: { name: 'db1', host: 'web1' },
    });
    const started = await engine.run({
      action: 'machine.start',
      target: (created.result as { guid: string }).guid,
    });

    t.equal(started.status, 'done', JSON.stringify(started.error));
    t.ok(existsSync(join(vms, 'db1', 'state')), 'the VM lives on web1');
    t.equal(readFileSync(join(vms, 'db1', 'state'), 'utf8'), 'running\n');
  },
);
