// Bounds on everything the webhook writes into an AdmissionReview answer. Pure.
//
// The pod comes from the request, before the apiserver has validated it, so it may hold thousands
// of containers with names of any length. A denial that lists them all is unreadable (a 1,000
// container pod once produced a 58 KB message) and is copied into every Event and controller log
// that repeats it. Each list therefore shows its first few items, then "and N more".
// Warnings have limits of their own: the apiserver may truncate one past 120 characters and drops
// them past 4096 in total
// (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#response).

/** Items shown of any list before "and N more". */
export const MAX_LIST_ITEMS = 5;
/** Characters shown of one item: a DNS label (a container or volume name) is at most 63. */
export const MAX_ITEM_CHARS = 63;
/** Problems shown in one denial before "and N more problems". */
export const MAX_PROBLEMS = 5;
/** The whole denial message, a last guard whatever the problems say. */
export const MAX_MESSAGE_CHARS = 2048;
/** Per warning: what kubectl prints on one line. */
export const MAX_WARNING_CHARS = 120;
/** Warnings per answer; with 120 characters each this stays far below the apiserver's 4096. */
export const MAX_WARNINGS = 10;

/** `text`, cut to `max` characters with a visible `...` when it was longer. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 3))}...` : text;
}

/** `a, b, c, d, e and 995 more`: the first items, each clipped, then how many were left out. */
export function listFirst(items: readonly string[], max = MAX_LIST_ITEMS): string {
  const shown = items.slice(0, max).map((item) => clip(item, MAX_ITEM_CHARS));
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

/** One denial message from several problems: the first few, a count of the rest, then clipped. */
export function joinProblems(messages: readonly string[]): string {
  const shown = messages.slice(0, MAX_PROBLEMS);
  const rest = messages.length - shown.length;
  const text = rest > 0 ? `${shown.join('; ')}; and ${rest} more problems` : shown.join('; ');
  return clip(text, MAX_MESSAGE_CHARS);
}

/** At most MAX_WARNINGS warnings of at most MAX_WARNING_CHARS each; the last one counts the rest. */
export function boundWarnings(warnings: readonly string[]): string[] {
  const clipped = warnings.map((w) => clip(w, MAX_WARNING_CHARS));
  if (clipped.length <= MAX_WARNINGS) return clipped;
  const shown = clipped.slice(0, MAX_WARNINGS - 1);
  return [...shown, `vault-autounseal: and ${clipped.length - shown.length} more warnings`];
}
