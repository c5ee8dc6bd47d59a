/**
 * Writes the Group Policy templates generated from the config schema (src/config/policy/admx.ts):
 * resources/policy/windows/backhaul.admx and en-US/backhaul.adml. Run after changing the schema:
 *
 *     npx tsx scripts/gen-admx.ts
 *
 * test/config/policy-templates.test.ts fails while the committed files differ from what this writes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderAdml, renderAdmx } from '../src/config/policy/admx.js';

export const windowsTemplatesDir = join(import.meta.dirname, '..', 'resources', 'policy', 'windows');

await mkdir(join(windowsTemplatesDir, 'en-US'), { recursive: true });
await writeFile(join(windowsTemplatesDir, 'backhaul.admx'), renderAdmx());
await writeFile(join(windowsTemplatesDir, 'en-US', 'backhaul.adml'), renderAdml());
process.stdout.write(`wrote ${join(windowsTemplatesDir, 'backhaul.admx')} and en-US/backhaul.adml\n`);
