// The soak: one sidecar against a server that flaps every few seconds (placeholder; being written).
export interface SoakOptions {
  readonly durationMs: number;
  readonly say: (line: string) => void;
}

export async function runSoak(options: SoakOptions): Promise<number> {
  options.say(`soak of ${options.durationMs} ms: not written yet`);
  return 2;
}
