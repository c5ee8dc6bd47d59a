/** The checklist, in the order doctor runs and prints it (docs/doctor.md describes each item). */
import { aesInstructionsCheck } from './checks/aes-instructions.js';
import { certificateAuthCheck } from './checks/certificate-auth.js';
import { cipherPolicyCheck } from './checks/cipher-policy.js';
import { credentialAgeCheck } from './checks/credential-age.js';
import { fullDiskAccessCheck } from './checks/full-disk-access.js';
import { gatewayDnsCheck } from './checks/gateway-dns.js';
import { ike4500Check, ike500Check } from './checks/ike-reachable.js';
import { keepaliveCheck } from './checks/keepalive.js';
import { logsMetricsCheck } from './checks/logs-metrics.js';
import { natTraversalCheck } from './checks/nat-traversal.js';
import { repositoryAccessCheck } from './checks/repository-access.js';
import { resticVersionCheck } from './checks/restic-version.js';
import { splitRoutesCheck } from './checks/split-routes.js';
import { tunnelMtuCheck } from './checks/tunnel-mtu.js';
import { tunnelUpCheck } from './checks/tunnel-up.js';
import type { DoctorCheck } from './types.js';

export const CHECKLIST: readonly DoctorCheck[] = [
  aesInstructionsCheck,
  fullDiskAccessCheck,
  logsMetricsCheck,
  credentialAgeCheck,
  resticVersionCheck,
  certificateAuthCheck,
  cipherPolicyCheck,
  keepaliveCheck,
  gatewayDnsCheck,
  ike500Check,
  ike4500Check,
  natTraversalCheck,
  tunnelUpCheck,
  splitRoutesCheck,
  tunnelMtuCheck,
  repositoryAccessCheck,
];
