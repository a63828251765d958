#!/usr/bin/env node
// The sidecar with one planted defect, to prove the chaos invariants catch a broken build. It runs
// the shipped program (sidecar/program.ts) with one dependency wrapped by chaos/planted.ts; the
// shipped entry point wraps none, and no defect lives in sidecar/. CHAOS_PLANTED_DEFECT names the
// defect. Never shipped: the images build sidecar/ and common/ only.
import { runSidecarProgram } from '../sidecar/program.js';
import { PLANTED_DEFECTS, plant, type PlantedDefect } from './planted.js';

const defect = process.env.CHAOS_PLANTED_DEFECT;
if (!PLANTED_DEFECTS.includes(defect as PlantedDefect)) {
  process.stderr.write(`CHAOS_PLANTED_DEFECT must be one of ${PLANTED_DEFECTS.join(', ')}\n`);
  process.exit(2);
}
await runSidecarProgram(process.argv.slice(2), (deps) => plant(defect as PlantedDefect, deps));
