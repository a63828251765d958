// "A repeated error is logged on first sight and then at most once a minute, with a count."

export interface RepeatLimiter {
  /** Whether to log this occurrence of `key`; when yes, how many were suppressed since the last line. */
  shouldLog(key: string, now: number): { log: boolean; suppressed: number };
  /** Forget every key starting with `prefix` (the condition cleared): the next occurrence is logged at once. */
  clear(prefix: string): void;
}

export function createRepeatLimiter(windowMs = 60_000): RepeatLimiter {
  const seen = new Map<string, { loggedAt: number; suppressed: number }>();
  return {
    shouldLog(key, now) {
      const entry = seen.get(key);
      if (!entry || now - entry.loggedAt >= windowMs) {
        const suppressed = entry?.suppressed ?? 0;
        seen.set(key, { loggedAt: now, suppressed: 0 });
        return { log: true, suppressed };
      }
      entry.suppressed += 1;
      return { log: false, suppressed: entry.suppressed };
    },
    clear(prefix) {
      for (const key of [...seen.keys()]) if (key.startsWith(prefix)) seen.delete(key);
    },
  };
}
