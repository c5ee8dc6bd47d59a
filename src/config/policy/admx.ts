/**
 * Group Policy templates (ADMX + en-US ADML) generated from the schema, so the Group Policy editor
 * offers exactly the keys the agent reads from `HKLM\SOFTWARE\Policies\Backhaul` (registry.ts) —
 * no hand-kept list to drift. `scripts/gen-admx.ts` writes them to resources/policy/windows; a
 * test regenerates them and compares.
 *
 * ADMX can only describe values at fixed registry paths. The policy's rules and limits and every
 * key of `settings` are fixed; jobs and profiles are keyed by names each organisation chooses, so
 * they are pushed as Group Policy Preferences registry items under `Config\Jobs\<name>` and
 * `Config\Profiles\<name>` instead (docs/policy.md). Format: Microsoft's "ADMX schema"
 * (learn.microsoft.com, Group Policy ADMX syntax): policyDefinitions with categories and
 * policies, each element (boolean, decimal, text, enum, multiText) tied to a presentation in the
 * ADML's presentationTable and to strings in its stringTable.
 */
import { LIMITS } from './limits.js';
import { kindOf, schemaAt, type KeyKind } from './schema-walk.js';

const ROOT_KEY = 'Software\\Policies\\Backhaul';
const NAMESPACE = 'Backhaul.Policies.Backhaul';
const SUPPORTED = 'SUPPORTED_Backhaul';

/** One setting the templates offer, and the policy key it writes. */
export interface AdmxPolicy {
  /** The ADMX policy name (unique). */
  readonly name: string;
  readonly category: 'Backhaul' | 'Limits' | 'Settings';
  /** Below HKLM. */
  readonly key: string;
  /** The policy key it sets, as in policy.yaml (`['config', 'settings', 'resticPath']`). */
  readonly policyPath: readonly string[];
  readonly displayName: string;
  readonly explain: string;
  /** A boolean policy writes its own value (1/0); the others have elements. */
  readonly value?: { readonly valueName: string };
  readonly elements: readonly AdmxElement[];
}

export type AdmxElement =
  | { readonly type: 'decimal'; readonly id: string; readonly valueName: string; readonly label: string; readonly minValue: number; readonly maxValue: number; readonly defaultValue?: number }
  | { readonly type: 'text'; readonly id: string; readonly valueName: string; readonly label: string }
  | { readonly type: 'multiText'; readonly id: string; readonly valueName: string; readonly label: string }
  | { readonly type: 'enum'; readonly id: string; readonly valueName: string; readonly label: string; readonly values: readonly string[] };

const LOCK_NOTE = 'A setting made here is locked: users can\'t change it in the Backhaul app, the command line or the config file.';

/** The policies, in the order the editor lists them. */
export function admxPolicies(): AdmxPolicy[] {
  const policies: AdmxPolicy[] = [
    {
      name: 'RequireCertificateAuth',
      category: 'Backhaul',
      key: ROOT_KEY,
      policyPath: ['requireCertificateAuth'],
      displayName: 'Require certificate authentication for VPN profiles',
      explain: 'Enabled: a VPN profile that authenticates with a pre-shared key (auth.method: psk) is refused, with an error naming the profile. Disabled or not configured: both certificate and pre-shared-key profiles are allowed.',
      value: { valueName: 'RequireCertificateAuth' },
      elements: [],
    },
    {
      name: 'AllowLegacyCiphers',
      category: 'Backhaul',
      key: ROOT_KEY,
      policyPath: ['allowLegacyCiphers'],
      displayName: 'Allow legacy VPN ciphers',
      explain: 'Enabled: a profile may set cipherPolicy: legacy, allowing 3DES, SHA-1 and DH groups below 14 for gateways that can do no better. MD5, DES and NULL encryption are never allowed by a policy. Disabled or not configured: cipherPolicy: legacy is refused.',
      value: { valueName: 'AllowLegacyCiphers' },
      elements: [],
    },
  ];
  for (const spec of LIMITS) {
    const range = `${String(spec.format(spec.lowest))}–${String(spec.format(spec.highest))}`;
    const what = spec.unit === 'count' ? 'a whole number' : 'a delay such as 15m, 90s or 2h';
    policies.push({
      name: `Limits_${spec.key}`,
      category: 'Limits',
      key: `${ROOT_KEY}\\Limits\\${capitalise(spec.key)}`,
      policyPath: ['limits', spec.key],
      displayName: `Limit ${spec.path.join('.')} of every job`,
      explain: `Enabled: every job's ${spec.path.join('.')} must lie between the minimum and the maximum, each ${what} (${range} allowed). A job that sets a value outside is refused; a job that doesn't set it gets its default moved into the range.`,
      elements: ['Min', 'Max'].map((bound): AdmxElement => spec.unit === 'count'
        ? { type: 'decimal', id: bound, valueName: bound, label: bound === 'Min' ? 'Minimum' : 'Maximum', minValue: spec.lowest, maxValue: spec.highest, defaultValue: bound === 'Min' ? spec.lowest : spec.highest }
        : { type: 'text', id: bound, valueName: bound, label: `${bound === 'Min' ? 'Minimum' : 'Maximum'} (e.g. ${bound === 'Min' ? '10m' : '2h'})` }),
    });
  }
  const settings = kindOfPath(['settings']);
  if (settings?.kind === 'mapping') {
    for (const [name, schema] of settings.keys) {
      const element = elementFor(name, kindOf(schema));
      if (element === undefined) continue;
      policies.push({
        name: `Settings_${name}`,
        category: 'Settings',
        key: `${ROOT_KEY}\\Config\\Settings`,
        policyPath: ['config', 'settings', name],
        displayName: `settings.${name}`,
        explain: `Sets settings.${name} for every user of this computer (docs/configuration.md describes the key). ${LOCK_NOTE}`,
        elements: [element],
      });
    }
  }
  return policies;
}

function kindOfPath(path: readonly string[]): KeyKind | undefined {
  const schema = schemaAt(path);
  return schema === undefined ? undefined : kindOf(schema);
}

function capitalise(word: string): string {
  return `${word.charAt(0).toUpperCase()}${word.slice(1)}`;
}

/** The ADMX element for a settings key, or undefined when ADMX has none that fits (a mapping). */
function elementFor(name: string, kind: KeyKind): AdmxElement | undefined {
  switch (kind.kind) {
    case 'text':
      return { type: 'text', id: name, valueName: name, label: name };
    case 'number':
      return { type: 'decimal', id: name, valueName: name, label: name, minValue: kind.min ?? 0, maxValue: kind.max ?? 2_147_483_647 };
    case 'enum':
      return { type: 'enum', id: name, valueName: name, label: name, values: kind.values };
    case 'list':
      return { type: 'multiText', id: name, valueName: name, label: `${name} (one per line)` };
    default:
      return undefined;
  }
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const GENERATED = '<!-- Generated by scripts/gen-admx.ts from the config schema; do not edit. -->';

/** The ADMX file. */
export function renderAdmx(policies: readonly AdmxPolicy[] = admxPolicies()): string {
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    GENERATED,
    '<policyDefinitions xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">',
    '  <policyNamespaces>',
    `    <target prefix="backhaul" namespace="${NAMESPACE}" />`,
    '  </policyNamespaces>',
    '  <resources minRequiredRevision="1.0" />',
    '  <supportedOn>',
    '    <definitions>',
    `      <definition name="${SUPPORTED}" displayName="$(string.${SUPPORTED})" />`,
    '    </definitions>',
    '  </supportedOn>',
    '  <categories>',
    '    <category name="Backhaul" displayName="$(string.Cat_Backhaul)" />',
    '    <category name="Limits" displayName="$(string.Cat_Limits)"><parentCategory ref="Backhaul" /></category>',
    '    <category name="Settings" displayName="$(string.Cat_Settings)"><parentCategory ref="Backhaul" /></category>',
    '  </categories>',
    '  <policies>',
  ];
  for (const policy of policies) {
    const presentation = policy.elements.length > 0 ? ` presentation="$(presentation.${policy.name})"` : '';
    const valueName = policy.value === undefined ? '' : ` valueName="${xml(policy.value.valueName)}"`;
    lines.push(`    <policy name="${policy.name}" class="Machine" displayName="$(string.${policy.name})" explainText="$(string.${policy.name}_Help)"${presentation} key="${xml(policy.key)}"${valueName}>`);
    lines.push(`      <parentCategory ref="${policy.category}" />`);
    lines.push(`      <supportedOn ref="${SUPPORTED}" />`);
    if (policy.value !== undefined) {
      lines.push('      <enabledValue><decimal value="1" /></enabledValue>', '      <disabledValue><decimal value="0" /></disabledValue>');
    }
    if (policy.elements.length > 0) {
      lines.push('      <elements>');
      for (const element of policy.elements) lines.push(`        ${admxElement(policy.name, element)}`);
      lines.push('      </elements>');
    }
    lines.push('    </policy>');
  }
  lines.push('  </policies>', '</policyDefinitions>', '');
  return lines.join('\r\n');
}

function admxElement(policy: string, element: AdmxElement): string {
  const common = `id="${xml(element.id)}" valueName="${xml(element.valueName)}"`;
  switch (element.type) {
    case 'decimal':
      return `<decimal ${common} required="true" minValue="${element.minValue}" maxValue="${element.maxValue}" />`;
    case 'text':
      return `<text ${common} required="true" />`;
    case 'multiText':
      return `<multiText ${common} required="true" />`;
    case 'enum':
      return [
        `<enum ${common} required="true">`,
        ...element.values.map((v) => `  <item displayName="$(string.${policy}_${v})"><value><string>${xml(v)}</string></value></item>`),
        '</enum>',
      ].join('\r\n        ');
  }
}

/** The en-US ADML file: the strings and presentations the ADMX refers to. */
export function renderAdml(policies: readonly AdmxPolicy[] = admxPolicies()): string {
  const strings: [string, string][] = [
    [SUPPORTED, 'Backhaul 0.1 and later'],
    ['Cat_Backhaul', 'Backhaul'],
    ['Cat_Limits', 'Limits'],
    ['Cat_Settings', 'Settings'],
  ];
  const presentations: string[] = [];
  for (const policy of policies) {
    strings.push([policy.name, policy.displayName], [`${policy.name}_Help`, `${policy.explain}\n\nRegistry: HKLM\\${policy.key}. Policy key: ${policy.policyPath.join('.')}.`]);
    if (policy.elements.length === 0) continue;
    presentations.push(`      <presentation id="${policy.name}">`);
    for (const element of policy.elements) {
      switch (element.type) {
        case 'decimal':
          presentations.push(`        <decimalTextBox refId="${xml(element.id)}"${element.defaultValue === undefined ? '' : ` defaultValue="${element.defaultValue}"`}>${xml(element.label)}</decimalTextBox>`);
          break;
        case 'text':
          presentations.push(`        <textBox refId="${xml(element.id)}"><label>${xml(element.label)}</label></textBox>`);
          break;
        case 'multiText':
          presentations.push(`        <multiTextBox refId="${xml(element.id)}">${xml(element.label)}</multiTextBox>`);
          break;
        case 'enum':
          presentations.push(`        <dropdownList refId="${xml(element.id)}">${xml(element.label)}</dropdownList>`);
          for (const value of element.values) strings.push([`${policy.name}_${value}`, value]);
          break;
      }
    }
    presentations.push('      </presentation>');
  }
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    GENERATED,
    '<policyDefinitionResources xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">',
    '  <displayName>Backhaul</displayName>',
    '  <description>Managed policy for the Backhaul backup agent (docs/policy.md).</description>',
    '  <resources>',
    '    <stringTable>',
    ...strings.map(([id, text]) => `      <string id="${xml(id)}">${xml(text)}</string>`),
    '    </stringTable>',
    '    <presentationTable>',
    ...presentations,
    '    </presentationTable>',
    '  </resources>',
    '</policyDefinitionResources>',
    '',
  ].join('\r\n');
}
