import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { validKeysAt } from '../../src/config/schema.js';

const DOC = new URL('../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('its example is a valid config without warnings', async () => {
    const text = await readFile(DOC, 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    expect(example).toBeDefined();
    const result = parseConfigText(example ?? '', 'docs/configuration.md');
    expect(result).toMatchObject({ ok: true, warnings: [] });
  });

  it('documents every key the schema accepts', async () => {
    const text = await readFile(DOC, 'utf8');
    const levels: PropertyKey[][] = [[], ['settings'], ['jobs', 'x'], ['jobs', 'x', 'schedule'], ['profiles', 'x'], ['profiles', 'x', 'auth']];
    for (const path of levels) {
      for (const key of validKeysAt(path, {})) expect(text, `key ${key}`).toContain(`\`${key}\``);
    }
  });
});
