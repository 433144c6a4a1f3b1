// The task registry: importing it loads no task module (nor etcd3 or a cloud SDK); each task's loader
// finds its function. The module graph is read from esbuild's metafile, which separates what an import
// statement pulls in from what a dynamic import() loads later.
import { resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { TASKS, type TaskName } from '../../shared/tasks/index.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every source file loaded as soon as `entry` is imported: its chunk and the chunks it imports statically. */
async function staticInputs(entry: string): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [resolve(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    outdir: 'out',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const outputs: Metafile['outputs'] = metafile.outputs;
  const start = Object.keys(outputs).find((name) => outputs[name]?.entryPoint === entry);
  if (!start) throw new Error(`no output for ${entry}`);
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const output = outputs[name];
    if (!output || seen.has(name)) return;
    seen.add(name);
    for (const i of output.imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(start);
  return [...seen].flatMap((name) => Object.keys(outputs[name]?.inputs ?? {}));
}

describe('task registry', () => {
  it('importing it loads no task module, and neither etcd3 nor a cloud SDK', async () => {
    const inputs = await staticInputs('shared/tasks/index.ts');
    expect(inputs).toContain('shared/tasks/index.ts');
    expect(inputs.filter((f) => f.startsWith('shared/tasks/') && f !== 'shared/tasks/index.ts')).toEqual([]);
    expect(inputs.filter((f) => /node_modules\/(etcd3|@grpc|@aws-sdk|@google-cloud)\//.test(f))).toEqual([]);
  });

  it.each(Object.keys(TASKS) as TaskName[])('%s: its loader imports the module and finds the task function', async (name) => {
    expect(typeof (await TASKS[name].load())).toBe('function');
  });
});
