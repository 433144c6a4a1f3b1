/** Replaced at build time by esbuild (`define`); the fallback covers tests run from source. */
declare const __TOOL_VERSION__: string | undefined;

export const TOOL = { name: 'etcd-backup', version: typeof __TOOL_VERSION__ === 'string' ? __TOOL_VERSION__ : '0.0.0-dev' };
