import { basename, dirname, isAbsolute, join } from 'node:path';

import type { JobWork } from '../../actors/job.js';
import { WfeError } from '../errors.js';
import type { JobRunner, LiveJob } from '../jobs/runner.js';
import type {
  AgentsAccess,
  ScriptOptions,
  ScriptResult,
} from '../tasklets/types.js';
import { outcomeError, runScript } from './executor.js';

/** The agent that runs rscripts on this host, without XMPP. */
export const LOCAL_AGENT = 'local';

export interface LocalAgentOptions {
  runner: JobRunner;
  /** The actor action's job; each rscript becomes a child of it. */
  job: LiveJob;
  /** Relative script paths are found beside the calling tasklet. */
  taskletFile: string;
}

/**
 * `ctx.agents` for actor actions on embedded defaults. Each rscript run
 * is a child job whose log carries the script's output as it arrives.
 */
export function localAgents(options: LocalAgentOptions): AgentsAccess {
  return {
    async run(agentId, script, scriptOptions = {}) {
      if (agentId !== LOCAL_AGENT) {
        throw new WfeError(
          'AGENT_UNAVAILABLE',
          `agent ${agentId} is not connected; this engine runs rscripts ` +
            `only on the '${LOCAL_AGENT}' agent`,
          { retryable: true, details: { agent: agentId } },
        );
      }
      if (typeof script !== 'string' || script.length === 0) {
        throw new WfeError('BAD_INPUT', 'rscript must be a file path');
      }

      const file = isAbsolute(script)
        ? script
        : join(dirname(options.taskletFile), script);
      const child = await options.runner.start(
        {
          action: `rscript:${basename(file)}`,
          params: scriptOptions.params ?? {},
          target: null,
          maxDurationMs: null,
        },
        options.job.record.id,
        (job) => scriptWork(job, file, scriptOptions),
      );

      const final = await options.runner.wait(child.id);
      if (final.status !== 'done') throw WfeError.fromInfo(final.error!);
      return final.result as ScriptResult;
    },
  };
}

function scriptWork(
  job: LiveJob,
  file: string,
  options: ScriptOptions,
): JobWork {
  let result: ScriptResult | null = null;

  return {
    steps: 1,
    async runStep() {
      const outcome = await runScript({
        file,
        language: options.language,
        params: options.params ?? {},
        timeoutMs: options.timeoutMs,
        signal: job.signal,
        onOutput: (stream, chunk) => job.log.info(chunk, { stream }),
      });
      job.log.info(`exit ${outcome.exitCode ?? outcome.signal}`, {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        durationMs: outcome.durationMs,
      });

      const error = outcomeError(outcome, {
        allowFailure: options.allowFailure,
        name: basename(file),
      });
      if (error) throw error;

      result = {
        exitCode: outcome.exitCode,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        result: outcome.result,
      };
      return 'continue';
    },
    result: () => result,
    abort: (reason) => job.abort(reason),
  };
}
