/**
 * The policy templates shipped in resources/policy: the ADMX/ADML pair generated from the schema
 * (well-formed XML, up to date with the generator, every policy maps to a key the agent reads, every
 * reference resolves) and the sample macOS .mobileconfig (a plist whose managed preferences are a
 * valid policy). Microsoft's ADMX XSD is not available here, so structure is checked by reading the
 * templates back the way the agent reads the registry they write.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { parse as parsePlist } from 'plist';
import { describe, expect, it } from 'vitest';
import { renderAdml, renderAdmx } from '../../src/config/policy/admx.js';
import { POLICY_KEYS, validatePolicyData } from '../../src/config/policy/format.js';
import { registryToPolicyData, type RegistryKey } from '../../src/config/policy/registry.js';
import { schemaAt } from '../../src/config/policy/schema-walk.js';

const resources = join(import.meta.dirname, '..', '..', 'resources', 'policy');
const admxFile = join(resources, 'windows', 'backhaul.admx');
const admlFile = join(resources, 'windows', 'en-US', 'backhaul.adml');
const mobileconfigFile = join(resources, 'macos', 'backhaul-policy.mobileconfig');

/**
 * Strict XML: any warning, error or fatal error of the parser fails. xmldom lets a bare "&" through
 * (it is not well-formed XML), so references are checked here too.
 */
function parseXml(text: string, name: string): Document {
  const bare = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(text);
  if (bare !== null) throw new Error(`${name}: a bare "&" at offset ${bare.index}; write &amp;`);
  return new DOMParser({ onError: (level, message) => { throw new Error(`${name}: ${level}: ${message}`); } }).parseFromString(text, 'text/xml');
}

function elements(parent: Document | Element, tag: string): Element[] {
  return Array.from(parent.getElementsByTagName(tag));
}

/** The value elements of a policy (inside <elements>; enabledValue's <decimal> is not one). */
function valueElements(policy: Element): Element[] {
  const container = elements(policy, 'elements')[0];
  return container === undefined ? [] : Array.from(container.childNodes).filter((n): n is Element => n.nodeType === 1);
}

function attr(element: Element, name: string): string {
  const value = element.getAttribute(name);
  if (value === null) throw new Error(`<${element.tagName}> has no ${name}`);
  return value;
}

const ROOT = 'Software\\Policies\\Backhaul';

/** A sample registry value for an ADMX element, of the type Group Policy writes for it. */
function sampleValue(element: Element, key: string): { type: string; data: string } {
  switch (element.tagName) {
    case 'decimal':
      return { type: 'REG_DWORD', data: `0x${Number(attr(element, 'minValue')).toString(16)}` };
    case 'text':
      // Text limits are delays; every other text setting today is a path.
      return { type: 'REG_SZ', data: key.includes('\\Limits\\') ? '15m' : 'C:\\Program Files\\Backhaul\\tool.exe' };
    case 'multiText':
      return { type: 'REG_MULTI_SZ', data: 'a\\0b' };
    case 'enum':
      return { type: 'REG_SZ', data: element.getElementsByTagName('string')[0]?.textContent ?? '' };
    default:
      throw new Error(`unexpected ADMX element <${element.tagName}>`);
  }
}

/**
 * What each ADMX policy writes, read back as the agent reads the registry: the registry values it
 * would set, converted and validated as a policy. Returns a problem per policy that doesn't map.
 */
function unmappedPolicies(admx: Document): string[] {
  const problems: string[] = [];
  for (const policy of elements(admx, 'policy')) {
    const name = attr(policy, 'name');
    const key = attr(policy, 'key');
    if (!key.startsWith(ROOT)) {
      problems.push(`${name}: key ${key} is outside ${ROOT}`);
      continue;
    }
    const values: [string, { type: string; data: string }][] = [];
    const valueName = policy.getAttribute('valueName');
    if (valueName !== null) values.push([valueName, { type: 'REG_DWORD', data: '0x1' }]);
    for (const element of valueElements(policy)) values.push([attr(element, 'valueName'), sampleValue(element, key)]);
    if (values.length === 0) problems.push(`${name}: writes no registry value`);
    const tree: RegistryKey = { values: new Map(), subkeys: new Map() };
    let at = tree;
    for (const part of key.slice(ROOT.length).split('\\').filter((p) => p !== '')) {
      const next: RegistryKey = { values: new Map(), subkeys: new Map() };
      at.subkeys.set(part, next);
      at = next;
    }
    for (const [n, v] of values) at.values.set(n, v);
    const { data, errors } = registryToPolicyData(tree);
    const checked = validatePolicyData(data, `ADMX policy ${name}`);
    if (errors.length > 0 || !checked.ok) {
      problems.push(`${name}: ${JSON.stringify([...errors, ...(checked.ok ? [] : checked.errors)])}`);
      continue;
    }
    // And the keys it set are policy keys: config.* a schema key, the rest a policy key.
    for (const path of leafPaths(data)) {
      const known = path[0] === 'config' ? schemaAt(path.slice(1)) !== undefined : (POLICY_KEYS as readonly string[]).includes(path[0] ?? '');
      if (!known) problems.push(`${name}: sets ${path.join('.')}, which is no policy key`);
    }
  }
  return problems;
}

function leafPaths(value: unknown, path: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [path];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, k]));
}

describe('the ADMX/ADML templates', () => {
  const admxText = readFileSync(admxFile, 'utf8');
  const admlText = readFileSync(admlFile, 'utf8');

  it('are up to date with the schema (regenerate with: npx tsx scripts/gen-admx.ts)', () => {
    expect(admxText).toBe(renderAdmx());
    expect(admlText).toBe(renderAdml());
  });

  it('are well-formed XML in the Group Policy namespace', () => {
    const admx = parseXml(admxText, 'backhaul.admx');
    const adml = parseXml(admlText, 'backhaul.adml');
    expect(admx.documentElement?.tagName).toBe('policyDefinitions');
    expect(adml.documentElement?.tagName).toBe('policyDefinitionResources');
    for (const doc of [admx, adml]) expect(doc.documentElement?.getAttribute('xmlns')).toBe('http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions');
  });

  it('the well-formedness check catches broken XML', () => {
    expect(() => parseXml(admxText.replace('</policies>', '</policy>'), 'broken')).toThrow();
    expect(() => parseXml(admlText.replace('<stringTable>', '<stringTable id=x>'), 'broken')).toThrow();
    expect(() => parseXml(admlText.replace('>Backhaul<', '>Back & haul<'), 'broken')).toThrow();
  });

  it('every policy maps to a key the agent reads and validates', () => {
    const admx = parseXml(admxText, 'backhaul.admx');
    expect(elements(admx, 'policy').length).toBeGreaterThanOrEqual(4);
    expect(unmappedPolicies(admx)).toEqual([]);
  });

  it('the mapping check catches a policy that writes a key the schema does not have', () => {
    const broken = parseXml(admxText.replace('valueName="resticPath"', 'valueName="resticPth"'), 'broken');
    expect(unmappedPolicies(broken)).toEqual([expect.stringContaining('Settings_resticPath')]);
    const outside = parseXml(admxText.replace('key="Software\\Policies\\Backhaul\\Limits\\Streams"', 'key="Software\\Policies\\Other"'), 'broken');
    expect(unmappedPolicies(outside)).toEqual([expect.stringContaining('is outside')]);
  });

  it('every string and presentation the ADMX names is in the ADML, and every element has a control', () => {
    const admx = parseXml(admxText, 'backhaul.admx');
    const adml = parseXml(admlText, 'backhaul.adml');
    const strings = new Set(elements(adml, 'string').map((s) => attr(s, 'id')));
    const presentations = new Map(elements(adml, 'presentation').map((p) => [attr(p, 'id'), p]));
    for (const ref of admxText.matchAll(/\$\(string\.([^)]+)\)/g)) expect(strings, ref[1]).toContain(ref[1]);
    for (const policy of elements(admx, 'policy')) {
      const presentation = policy.getAttribute('presentation');
      const ids = valueElements(policy).map((e) => attr(e, 'id'));
      if (presentation === null) {
        expect(ids).toEqual([]);
        continue;
      }
      const control = presentations.get(/^\$\(presentation\.(.+)\)$/.exec(presentation)?.[1] ?? '');
      expect(control, presentation).toBeDefined();
      const refIds = Array.from(control?.childNodes ?? []).filter((n): n is Element => n.nodeType === 1).map((e) => attr(e, 'refId'));
      expect(refIds.sort()).toEqual(ids.sort());
    }
  });
});

describe('the sample .mobileconfig', () => {
  it('is a plist whose managed preferences for com.backhaul.agent are a valid policy of schema keys', () => {
    const profile = parsePlist(readFileSync(mobileconfigFile, 'utf8')) as Record<string, unknown>;
    expect(profile['PayloadType']).toBe('Configuration');
    const payloads = profile['PayloadContent'] as Record<string, unknown>[];
    const preferences = payloads.find((p) => p['PayloadType'] === 'com.apple.ManagedClient.preferences');
    const domain = (preferences?.['PayloadContent'] as Record<string, { Forced: { mcx_preference_settings: unknown }[] }> | undefined)?.['com.backhaul.agent'];
    const settings = domain?.Forced[0]?.mcx_preference_settings;
    const checked = validatePolicyData(settings, 'backhaul-policy.mobileconfig');
    expect(checked.ok ? [] : checked.errors).toEqual([]);
    expect(checked.ok && checked.policy).toMatchObject({ requireCertificateAuth: true, limits: { streams: { min: 1, max: 8 } } });
    for (const path of leafPaths(settings)) {
      expect(path[0] === 'config' ? schemaAt(path.slice(1)) !== undefined : (POLICY_KEYS as readonly string[]).includes(path[0] ?? ''), path.join('.')).toBe(true);
    }
    for (const uuid of [profile['PayloadUUID'], preferences?.['PayloadUUID']]) expect(uuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  });
});
