#!/usr/bin/env node
// The sidecar's entry point: the program as shipped, with no dependency wrapped (see program.ts).
import { runSidecarProgram } from './program.js';

await runSidecarProgram(process.argv.slice(2));
