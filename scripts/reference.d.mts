// Types of scripts/reference.mjs, for the unit test that imports it.
export declare const REFERENCE_PATH: string;
export declare const STATUS_FIELDS: readonly (readonly [
  field: string,
  type: string,
  meaning: string,
])[];
export declare const SIDECAR_ENDPOINTS: readonly (readonly [
  method: string,
  path: string,
  answers: string,
])[];
export declare const WEBHOOK_ENDPOINTS: readonly (readonly [
  method: string,
  path: string,
  answers: string,
])[];
export declare const STATES: readonly (readonly [state: string, meaning: string])[];
export declare function parseSidecarHelp(
  help: string,
): { env: string; twin: string | undefined; flag: string; doc: string; fallback: string }[];
export declare function buildReference(
  mods: Record<string, unknown>,
  root: string,
): Promise<string>;
export declare function renderReference(src: Record<string, unknown>): string;
