import { pipeline, type Readable, Transform } from 'node:stream';

/**
 * How far a task's one long stream has got (the snapshot from etcd, the object verified or restored). Only
 * a person at a terminal asks for it: the CLI draws it on stderr; functions and `--json` runs pass none.
 */
export interface Progress {
  /** A stream of about `total` bytes starts: the member's reported database size, or the object's size. */
  start(total: number): ProgressMeter;
}

export interface ProgressMeter {
  add(bytes: number): void;
  /** Every byte passed: shown as complete, whatever `total` guessed. */
  done(): void;
  /** The stream failed or was aborted: the figures stay where they were. */
  stop(): void;
}

/**
 * `body` counted into `meter` as it is read, or `body` itself when there is no meter, so that a run without
 * a terminal has no extra stage and no cost per chunk. The pipeline carries an error or a destroy either
 * way: a consumer that gives up still stops the source.
 */
export function metered(body: Readable, meter: ProgressMeter | undefined): Readable {
  if (!meter) return body;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      meter.add(chunk.length);
      callback(null, chunk);
    },
    flush(callback) {
      meter.done();
      callback();
    },
  });
  return pipeline(body, counter, (error) => {
    if (error) meter.stop();
  });
}
