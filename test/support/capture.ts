/** A function's JSON log line, as written to stdout or stderr. */
export type Line = Record<string, unknown>;

/** Runs `fn` while keeping every JSON line written to stdout and stderr (a function's log lines). */
export async function capturing<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: unknown; lines: Line[]; ms: number }> {
  const lines: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const grab = (chunk: unknown) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((l) => l.startsWith('{')),
    );
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  const started = Date.now();
  const parsed = () => lines.map((l) => JSON.parse(l) as Line);
  try {
    const value = await fn();
    return { value, lines: parsed(), ms: Date.now() - started };
  } catch (error) {
    return { error, lines: parsed(), ms: Date.now() - started };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
