/**
 * The body of a tasklet worker thread: imports a compiled tasklet and
 * runs its `main` on a copy of the params. Only `params`, `job`, `log`
 * and `stop` exist here; the DRP, actions and agents stay on the main
 * thread, so asking for them is an error.
 */
import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

interface RunMessage {
  compiledFile: string;
  tasklet: { name: string; file: string };
  params: Record<string, unknown>;
  job: {
    id: string;
    parentId: string | null;
    action: string;
    target: string | null;
  };
}

const port = parentPort!;

port.on('message', (message: RunMessage) => {
  void run(message);
});

async function run(message: RunMessage): Promise<void> {
  let stopped = false;
  const log = (level: string) => (text: string, data?: unknown) =>
    port.postMessage({ type: 'log', level, message: String(text), data });
  const denied = (name: string) => () => {
    throw Object.assign(
      new Error(
        `tasklet ${message.tasklet.name} runs in a worker thread and ` +
          `cannot use ctx.${name}`,
      ),
      { code: 'CAPABILITY_DENIED' },
    );
  };

  const ctx = {
    params: message.params,
    job: message.job,
    tasklet: message.tasklet,
    log: {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
    },
    signal: new AbortController().signal,
    stop: () => {
      stopped = true;
    },
  };
  for (const name of ['drp', 'actions', 'agents']) {
    Object.defineProperty(ctx, name, { get: denied(name) });
  }

  try {
    const module = await import(pathToFileURL(message.compiledFile).href);
    const returned = await module.main(ctx);
    port.postMessage({
      type: 'done',
      params: ctx.params,
      returned,
      stopped,
    });
  } catch (err) {
    const error = err as { code?: unknown; message?: unknown };
    port.postMessage({
      type: 'failed',
      error: {
        code: typeof error?.code === 'string' ? error.code : 'TASKLET_FAILED',
        message: String(error?.message ?? err),
        retryable: false,
      },
    });
  }
}
