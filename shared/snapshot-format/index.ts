export { SnapshotInspector, type SnapshotInspectorOptions } from './inspector.js';
export type { Problem, ProblemKind, SnapshotReport } from './report.js';
