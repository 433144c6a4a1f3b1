// The etcd-backup command as users run it (the built bin) in a child process: piped, under a terminal, or
// held open to be interrupted.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { SETTINGS } from '../../shared/config/settings.js';

const execFileP = promisify(execFile);
export const BIN = resolve(import.meta.dirname, '../../bin/etcd-backup.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The test's environment without any setting of ours or etcdctl's: only what a test names reaches the CLI. */
export function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !SETTINGS.some((s) => s.env === k) && !k.startsWith('ETCDCTL_')),
  );
  return { ...clean, ...env };
}

/** Runs the CLI with stdout and stderr piped (not a terminal). */
export async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { env: cleanEnv(env) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Runs the CLI with stdout and stderr on a pseudo-terminal (python3's pty module, as a person's shell would
 * run it) and returns everything written to the terminal, escapes and carriage returns included. With
 * `stdoutFile`, stdout goes to that file instead (`--json > file` at a terminal).
 */
export async function cliOnTerminal(args: string[], env: Record<string, string | undefined>, stdoutFile?: string): Promise<CliRun> {
  const script = [
    'import fcntl, os, pty, struct, sys, termios',
    'out = sys.argv[1]',
    'def child_stdout():',
    '    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))',
    '    if out:',
    '        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)',
    '        os.dup2(fd, 1)',
    '    os.execv(sys.argv[2], sys.argv[2:])',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    '    child_stdout()',
    'chunks = []',
    'while True:',
    '    try:',
    '        data = os.read(fd, 65536)',
    '    except OSError:',
    '        break',
    '    if not data:',
    '        break',
    '    chunks.append(data)',
    'sys.stdout.buffer.write(b"".join(chunks))',
    '_, status = os.waitpid(pid, 0)',
    'sys.exit(os.waitstatus_to_exitcode(status))',
  ].join('\n');
  try {
    const { stdout } = await execFileP('python3', ['-c', script, stdoutFile ?? '', process.execPath, BIN, ...args], {
      env: cleanEnv(env),
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * What was drawn on a terminal, piece by piece: a carriage return, a newline or a move to the first column
 * (how a bar is redrawn in place) starts a new piece; other escapes are removed.
 */
export function screenLines(output: string): string[] {
  const plain = output
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a move to a column is a redraw from there
    .replace(/\u001b\[\d*G/g, '\r')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what is removed
    .replace(/\u001b(\[[0-9;?]*[A-Za-z]|[78])/g, '');
  return plain
    .split(/\r\n|\r|\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
}

/** Starts the CLI with pipes and keeps it running, for signalling; `lines` collects stderr's lines as they come. */
export function startCli(
  args: string[],
  env: Record<string, string | undefined>,
): {
  child: ChildProcess;
  lines: string[];
  stdout: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, stdout: () => out, exited };
}
