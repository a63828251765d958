// Durations as operators write them in manifests: `500ms`, `5s`, `2m`, `1h`.
// A bare number is refused on purpose: `5` could mean seconds or milliseconds, and guessing wrong
// turns a 5 s check period into a 5 ms hot loop.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

export const DURATION_FORMAT = 'a duration such as 500ms, 5s or 2m';

/** Milliseconds for a duration string, or `undefined` when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  // Neither `??` can apply: DURATION admits only the four units UNIT_MS has (they are there for
  // noUncheckedIndexedAccess). The whole line, as vitest's compiler drops a hint inside an expression.
  /* v8 ignore start */
  const ms = Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  /* v8 ignore stop */
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** `1500` → `1.5s`, for log lines and `/status`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(3))}s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(3))}m`;
  return `${Number((ms / 3_600_000).toFixed(3))}h`;
}

/** The sane range of one duration setting, inclusive, in milliseconds. */
export interface DurationRange {
  readonly minMs: number;
  readonly maxMs: number;
}

export type CheckedDuration =
  { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly message: string };

/**
 * A duration that must lie in `range`. Out-of-range values are refused rather than clamped: Node
 * turns a timer above 2^31−1 ms into 1 ms, so `720h` would silently become a hot loop, and `1ms`
 * is one. The message states the range, so the operator can fix it in one go.
 */
export function checkDuration(text: string, range: DurationRange): CheckedDuration {
  const ms = parseDuration(text);
  const accepted = `a duration from ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)} (such as 500ms, 5s or 2m)`;
  if (ms === undefined) return { ok: false, message: `"${text}" is not ${accepted}` };
  if (ms < range.minMs || ms > range.maxMs) {
    return { ok: false, message: `"${text}" is out of range: ${accepted}` };
  }
  return { ok: true, ms };
}
