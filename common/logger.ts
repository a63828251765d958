import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './log-levels.js';

export type { Logger } from 'pino';
export { LOG_LEVELS, type LogLevel } from './log-levels.js';

/**
 * Field names that may ever hold secret material. pino replaces them before serialising, so a
 * careless `logger.info({ key })` cannot leak a share or a token. This is the second line of
 * defence: the first is never passing such values to a logger at all.
 */
const SECRET_PATHS = [
  'key',
  'keys',
  'share',
  'shares',
  'token',
  'root_token',
  'keys_base64',
  'unseal_keys_b64',
  'unseal_keys_hex',
  '*.key',
  '*.keys',
  '*.share',
  '*.token',
  'err.config',
  'err.request',
  'err.response',
  'headers.authorization',
  'headers["x-vault-token"]',
];

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly name: string;
  /** Defaults to stdout; tests pass a stream and parse the JSON lines. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      base: { name: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
