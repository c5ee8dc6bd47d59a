/**
 * Writing configs back out as YAML, for the demo config writer and `config init`: a header comment
 * that points at the docs, then the config in the same shape a person would type.
 */
import { Document } from 'yaml';
import { formatSecretRef, type Config, type ConfigInput, type JobConfig, type JobInput, type ProfileConfig, type ProfileInput } from './schema.js';

const DEFAULT_HEADER = [
  ' Backhaul configuration. Every key is described in docs/configuration.md.',
  ' Secrets are references (file:/path with mode 0600, or keychain:name), never the secret itself.',
].join('\n');

/** Render a config as YAML text with a header comment (`header` replaces the default; '' for none). */
export function renderConfigYaml(config: ConfigInput, options: { readonly header?: string } = {}): string {
  const doc = new Document(config);
  const header = options.header ?? DEFAULT_HEADER;
  if (header !== '') {
    doc.commentBefore = header
      .split('\n')
      .map((line) => (line.startsWith(' ') || line === '' ? line : ` ${line}`))
      .join('\n');
  }
  return doc.toString({ lineWidth: 0 });
}

function jobToInput(job: JobConfig): JobInput {
  const { uploadLimitKiBps, password, ssh, ...rest } = job;
  return {
    ...rest,
    ...(password === undefined ? {} : { password: formatSecretRef(password) }),
    ...(ssh === undefined ? {} : { ssh: { ...ssh, identity: formatSecretRef(ssh.identity) } }),
    ...(uploadLimitKiBps === undefined ? {} : { bandwidthLimit: `${uploadLimitKiBps} KiB/s` }),
  };
}

function profileToInput(profile: ProfileConfig): ProfileInput {
  const { auth, ...rest } = profile;
  const { password, username } = auth;
  const common = {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: formatSecretRef(password) }),
  };
  return {
    ...rest,
    auth:
      auth.method === 'psk'
        ? { method: 'psk', psk: formatSecretRef(auth.psk), ...common }
        : {
            method: 'certificate',
            certificate: auth.certificate,
            ...(auth.key === undefined ? {} : { key: formatSecretRef(auth.key) }),
            ...common,
          },
  };
}

/** The file form of a validated config (secret references as text, the limit as a rate), for round trips. */
export function toConfigInput(config: Config): ConfigInput {
  return {
    version: config.version,
    settings: { ...config.settings },
    jobs: Object.fromEntries(Object.entries(config.jobs).map(([name, job]) => [name, jobToInput(job)])),
    profiles: Object.fromEntries(Object.entries(config.profiles).map(([name, p]) => [name, profileToInput(p)])),
  };
}
