/**
 * Where a restic repository lives on the network, so the session can prove it is reachable
 * (through the tunnel) before the engine starts. Pure: parses restic's repository syntax.
 */
export type RepositoryEndpoint =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'tcp'; readonly scheme: string; readonly host: string; readonly port: number }
  /** Backends we don't probe (rclone, cloud SDKs): restic reports their failures itself. */
  | { readonly kind: 'unprobed'; readonly scheme: string };

const defaultPorts: Readonly<Record<string, number>> = { http: 80, https: 443 };

export function repositoryEndpoint(repository: string): RepositoryEndpoint {
  const scheme = /^([a-z][a-z0-9]*):/.exec(repository)?.[1];
  // A Windows drive letter ("C:\backup") is a local path, not a scheme.
  if (scheme === undefined || /^[a-zA-Z]:[\\/]/.test(repository)) return { kind: 'local', path: repository };
  const rest = repository.slice(scheme.length + 1);
  switch (scheme) {
    case 'rest':
    case 's3':
      return urlEndpoint(scheme, rest.includes('://') ? rest : `https://${rest}`);
    case 'sftp':
      return sftpEndpoint(rest);
    default:
      return { kind: 'unprobed', scheme };
  }
}

function urlEndpoint(scheme: string, url: string): RepositoryEndpoint {
  try {
    const parsed = new URL(url);
    const protocol = parsed.protocol.replace(/:$/, '');
    const port = parsed.port === '' ? defaultPorts[protocol] : Number(parsed.port);
    if (port === undefined || parsed.hostname === '') return { kind: 'unprobed', scheme };
    return { kind: 'tcp', scheme, host: parsed.hostname.replace(/^\[|\]$/g, ''), port };
  } catch {
    return { kind: 'unprobed', scheme };
  }
}

/** `sftp:user@host:/path` or `sftp://user@host:2222/path`. */
function sftpEndpoint(rest: string): RepositoryEndpoint {
  if (rest.startsWith('//')) {
    const url = urlEndpoint('sftp', `ssh:${rest}`);
    return url.kind === 'tcp' ? { ...url, port: url.port === 80 ? 22 : url.port } : url;
  }
  const hostPart = rest.split(':')[0] ?? '';
  const host = hostPart.includes('@') ? hostPart.slice(hostPart.lastIndexOf('@') + 1) : hostPart;
  return host === '' ? { kind: 'unprobed', scheme: 'sftp' } : { kind: 'tcp', scheme: 'sftp', host, port: 22 };
}
