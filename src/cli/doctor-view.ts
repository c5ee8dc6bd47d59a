/**
 * doctor's human output: per subject, grouped by area, one line per item (status, title, evidence)
 * and the fix under it when there is one. Plain words, not colours, so it reads the same in a
 * log file, a ticket and a terminal.
 */
import type { CheckGroup, CheckStatus, DoctorReport } from '../agent/doctor/types.js';

const LABEL: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };
const GROUP_TITLE: Readonly<Record<CheckGroup, string>> = { host: 'This machine', vpn: 'VPN profile', network: 'Network path', repository: 'Repository' };
const GROUP_ORDER: readonly CheckGroup[] = ['host', 'vpn', 'network', 'repository'];

export function renderDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  for (const target of report.reports) {
    if (target.checks.length === 0) continue;
    lines.push(target.subject);
    for (const group of GROUP_ORDER) {
      const checks = target.checks.filter((c) => c.group === group);
      if (checks.length === 0) continue;
      lines.push(`  ${GROUP_TITLE[group]}`);
      for (const check of checks) {
        lines.push(`    [${LABEL[check.status]}] ${check.title}: ${check.evidence}`);
        if (check.fix !== undefined && check.status !== 'pass') lines.push(`           fix: ${check.fix}`);
      }
    }
    lines.push('');
  }
  const s = report.summary;
  lines.push(`${s.pass + s.warn + s.fail + s.skip} checks: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail, ${s.skip} skipped`);
  return `${lines.join('\n')}\n`;
}
