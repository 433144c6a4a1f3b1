import { constants } from 'node:os';

/**
 * Ctrl-C and SIGTERM abort the task through its signal, so that it cleans up as on any failure (the upload
 * aborted, temporary files removed) and still reports. A second signal stops the process at once.
 */
export function abortOnSignals(controller: AbortController): { received(): NodeJS.Signals | undefined; release(): void } {
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + constants.signals[signal]);
    received = signal;
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received: () => received,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
