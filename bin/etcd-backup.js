#!/bin/sh
':' //; d=$(dirname "$(readlink -f "$0")"); n=$d/../node_modules/.bin/node; [ -x "$n" ] || n=node; MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} exec "$n" --max-semi-space-size=1 "$0" "$@"
// Run as a command, the two lines above are a shell script. It starts the node that `npm ci` installed
// beside this file (node_modules/.bin/node, the Node 24 pinned in the lockfile), or the node on PATH when
// there is none: `npx etcd-backup` puts only npm's own cache on PATH. It gives node a 1 MiB young-generation
// semi-space, which bounds the young generation up to V8 12 (V8 13 takes another flag, set per task by
// shared/gc-settings.ts): short-lived gRPC buffers survive scavenges while they wait in the pipeline,
// and a large young generation holds tens of MiB of them for no speed gain. Two glibc malloc arenas instead
// of up to 8 per core hold less freed memory at the peak (docs/benchmarks.md, "Memory"). Flags cannot be
// set from inside the process once the heap exists, and `#!/usr/bin/env -S node …` fails on BusyBox
// (Alpine). For node, the second line is a string and a comment.
//
// The CLI is bundled by `npm run build` (run by `npm ci` through `prepare`).
import '../dist/cli.js';
