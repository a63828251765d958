// The pause switch: the pod annotation `vault-autounseal.io/paused`, read from the downward-API
// `annotations` file. The kubelet writes one `key="value"` line per annotation, the value quoted
// as Go's strconv.Quote does (backslash escapes, \uXXXX for non-printables).

export const PAUSED_ANNOTATION = 'vault-autounseal.io/paused';

/** Parses the kubelet's annotations file into a map. Lines it cannot read are skipped. */
export function parseAnnotationsFile(text: string): Map<string, string> {
  const annotations = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const value = unquoteGo(line.slice(eq + 1).trim());
    if (value !== undefined) annotations.set(key, value);
  }
  return annotations;
}

/**
 * Go's escapes that JSON lacks, and the backslash pairs that must be read before them (so `\\x41`
 * stays a backslash followed by "x41"). strconv.Quote, which the kubelet uses, writes `\a`, `\v`
 * and `\xHH` for control characters and `\UHHHHHHHH` for non-printable characters above U+FFFF;
 * it never writes octal escapes.
 */
const GO_ESCAPE = /\\(?:x([0-9a-fA-F]{2})|U([0-9a-fA-F]{8})|([\s\S]))/g;
const GO_ONLY_ESCAPES: Readonly<Record<string, string>> = { a: '\\u0007', v: '\\u000b' };

/** One Go escape as JSON reads it; every other escape is already JSON's own. */
function toJsonEscape(escape: string, hex?: string, wide?: string, letter?: string): string {
  if (hex !== undefined) return `\\u00${hex}`;
  if (wide !== undefined) {
    // The character itself, which JSON.stringify escapes only where JSON needs it.
    return JSON.stringify(String.fromCodePoint(parseInt(wide, 16))).slice(1, -1);
  }
  // `letter` is always set here: GO_ESCAPE's last alternative matches whenever \x and \U did not.
  // The whole line, as vitest's compiler drops a hint inside an expression.
  /* v8 ignore start */
  return GO_ONLY_ESCAPES[letter ?? ''] ?? escape;
  /* v8 ignore stop */
}

/**
 * A Go double-quoted string literal to its value, or undefined when it is not one. Every line the
 * kubelet writes decodes: a value that did not would read as "no annotation", and for the pause
 * switch that means "resume" where an unrecognised value must pause.
 */
function unquoteGo(quoted: string): string | undefined {
  if (quoted.length < 2 || !quoted.startsWith('"') || !quoted.endsWith('"')) return undefined;
  try {
    const value: unknown = JSON.parse(quoted.replace(GO_ESCAPE, toJsonEscape));
    // Always a string: JSON that starts and ends with a quote and parses is one string.
    /* v8 ignore next */
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface PauseState {
  readonly paused: boolean;
  /** The annotation's value when it is neither true nor false; we pause and say so. */
  readonly unrecognisedValue: string | undefined;
}

const TRUE_VALUES = ['true', '1', 'yes', 'on'];
const FALSE_VALUES = ['false', '0', 'no', 'off', ''];

/**
 * Paused while the annotation is "true". A value we do not recognise also pauses: an operator who
 * wrote `paused: "ture"` in the middle of an incident meant to stop us, and unsealing a Vault they
 * sealed on purpose is the worse mistake. /status and the log say which value was not understood.
 */
export function pauseStateFrom(annotations: ReadonlyMap<string, string>): PauseState {
  const raw = annotations.get(PAUSED_ANNOTATION);
  if (raw === undefined) return { paused: false, unrecognisedValue: undefined };
  const value = raw.trim().toLowerCase();
  if (TRUE_VALUES.includes(value)) return { paused: true, unrecognisedValue: undefined };
  if (FALSE_VALUES.includes(value)) return { paused: false, unrecognisedValue: undefined };
  return { paused: true, unrecognisedValue: raw };
}

/** What reading the downward-API `annotations` file gave. */
export type PauseRead =
  | { readonly kind: 'read'; readonly state: PauseState }
  /** The pod-info directory does not exist: no downward-API volume is mounted at all. */
  | { readonly kind: 'no-volume' }
  /** The file is missing, unreadable, or not a file; `problem` says which, without content. */
  | { readonly kind: 'unreadable'; readonly problem: string };

/** The pause switch as the loop holds it between reads. */
export interface PauseSwitch extends PauseState {
  /**
   * `ok`: read this time. `absent`: no downward-API volume has ever been there (a sidecar run
   * outside the webhook's pods), so there is no switch to honour. `unreadable`: the last known
   * state is kept, and paused if the switch was never read.
   */
  readonly source: 'ok' | 'absent' | 'unreadable';
  readonly problem: string | undefined;
  /** The file has been read at least once since start. */
  readonly everRead: boolean;
  /** The pod-info directory has been there (read or not) at least once since start. */
  readonly volumeSeen: boolean;
}

/** Before the first read nothing may be submitted. */
export const INITIAL_PAUSE_SWITCH: PauseSwitch = Object.freeze({
  paused: true,
  unrecognisedValue: undefined,
  source: 'unreadable',
  problem: 'not read yet',
  everRead: false,
  volumeSeen: false,
});

/**
 * The next state of the switch. It fails closed: an unreadable switch keeps the last known state,
 * or pauses if it was never read; it never unpauses. Only a volume that was never there at all
 * means "no switch", and a volume that disappears after being read counts as unreadable.
 */
export function nextPauseSwitch(previous: PauseSwitch, read: PauseRead): PauseSwitch {
  if (read.kind === 'read') {
    return { ...read.state, source: 'ok', problem: undefined, everRead: true, volumeSeen: true };
  }
  if (read.kind === 'no-volume' && !previous.volumeSeen) {
    return {
      paused: false,
      unrecognisedValue: undefined,
      source: 'absent',
      problem: undefined,
      everRead: false,
      volumeSeen: false,
    };
  }
  const problem = read.kind === 'no-volume' ? 'the pod-info directory disappeared' : read.problem;
  return {
    paused: previous.everRead ? previous.paused : true,
    unrecognisedValue: previous.everRead ? previous.unrecognisedValue : undefined,
    source: 'unreadable',
    problem,
    everRead: previous.everRead,
    volumeSeen: true,
  };
}
