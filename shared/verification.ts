import type { Problem, ProblemKind } from './snapshot-format/index.js';

/** What the inspector finds in the bytes, plus disagreements with the writer's manifest. */
export interface VerifyProblem extends Omit<Problem, 'kind'> {
  /** undecodable: the stored object is not a whole zstd or gzip stream (damaged in the store). */
  kind: ProblemKind | 'manifest-missing' | 'manifest-mismatch' | 'undecodable';
}

/** Written next to a snapshot by `verify`; the snapshot object itself is never modified (it may be locked). */
export interface VerificationRecord {
  format: 1;
  key: string;
  verifiedAt: string;
  ok: boolean;
  size: number;
  sha256: string;
  revision?: number;
  compactRevision?: number;
  totalKey?: number;
  totalSize?: number;
  problems: VerifyProblem[];
  tool: { name: string; version: string };
}
