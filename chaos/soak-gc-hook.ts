// Loaded into the soak's sidecar only, with NODE_OPTIONS="--expose-gc --import <this file>":
// SIGUSR2 runs a full garbage collection. The soak sends it before each sample, so the heap it
// reads is what is still reachable. Without it, garbage waiting in the old generation for V8's next
// full collection climbs for minutes (0.5 MiB a minute in a 10-minute soak here) and reads as a
// leak. The sidecar's own code is unchanged; nothing outside the soak loads this file.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) process.on('SIGUSR2', () => gc());
