#!/bin/sh
':' //; MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} exec node --max-semi-space-size=1 "$0" "$@"
// Run as a command, the two lines above are a shell script that starts node with a 1 MiB young-generation
// semi-space: V8's default grows to 2 x 16 MiB during a long stream (short-lived gRPC buffers survive
// scavenges while they wait in the pipeline), about a fifth of a snapshot run's peak RSS, for no speed
// gain. Two glibc malloc arenas instead of up to 8 per core hold less freed memory at the peak
// (docs/benchmarks.md, "Memory"). Flags cannot be set from inside the process once the
// heap exists, and `#!/usr/bin/env -S node …` fails on BusyBox (Alpine). For node, the second line is a
// string and a comment.
//
// The CLI is bundled by `npm run build` (run by `npm ci` through `prepare`).
import '../dist/cli.js';
