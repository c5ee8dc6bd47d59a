/**
 * How a location inside the config is written in messages: `jobs.nightly.sources[0]`. Keys that are
 * not plain words are quoted (`jobs["my job"]`) so the path stays unambiguous.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}
