import type { CliIo } from './io.js';

export interface StopRequest {
  /** Resolves with what asked to stop. */
  promise: Promise<string>;
  dispose(): void;
}

/**
 * Resolves when the user asks a long-running command to stop: on
 * io.stopSignal when given (tests), else on SIGINT or SIGTERM.
 */
export function stopRequested(io: CliIo): StopRequest {
  const { stopSignal } = io;
  if (stopSignal) {
    const promise = new Promise<string>((resolve) => {
      if (stopSignal.aborted) resolve('stop requested');
      stopSignal.addEventListener('abort', () => resolve('stop requested'), {
        once: true,
      });
    });
    return { promise, dispose: () => {} };
  }

  // Listeners go away once the first signal arrives, so a second Ctrl-C
  // during a slow shutdown ends the process the default way.
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const promise = new Promise<string>((resolve) => {
    onSignal = (signal) => {
      dispose();
      resolve(`received ${signal}`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return { promise, dispose };
}
