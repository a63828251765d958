// How deep a parsed JSON value nests, counted without recursion. A pod, as the apiserver sends it,
// nests about 15 levels (managedFields mirror the object). JSON.parse copes with any depth, but
// JSON.stringify and every recursive walk after it throw at a few thousand levels: a 3 MiB body of
// `{"a":{"a":…}}` sent straight to :8443 would reach the patch builder and be answered as an
// internal error. Refusing it at the door makes it a plain 400.

/** The deepest nesting a request body may have. Generous: real reviews stay below 20. */
export const MAX_JSON_DEPTH = 100;

/** True when `value` nests objects or arrays deeper than `max` levels. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
