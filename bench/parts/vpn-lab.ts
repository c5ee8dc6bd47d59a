/**
 * `npm run bench -- vpn-lab`: the QEMU lab (test/lab) in its bench tier. Boots the Debian guest once
 * and prints, as ratios, connect + verify of Backhaul's linux-nm and linux-swan drivers against the
 * bare native tools (`nmcli connection up`, strongSwan + xl2tpd with the same configuration), and
 * backup throughput through the L2TP/IPsec tunnel against the same repository without it. Needs
 * root, QEMU and the Debian mirror (the image is built and cached on first use); minutes, not
 * seconds: the guest runs under software emulation.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchPart } from '../lib/part.js';

const root = join(import.meta.dirname, '..', '..');

export const part: BenchPart = {
  name: 'vpn-lab',
  summary: 'Backhaul connect+verify vs bare nmcli / swanctl+xl2tpd, backup MB/s through the tunnel vs direct (QEMU lab, root)',
  usage: 'env: DATA_MB (backup size, default 200), BENCH_REPS (connects per path, default 2), LAB_OUT (results dir)',
  async run(): Promise<void> {
    if (process.getuid?.() !== 0) {
      console.log('vpn-lab: skipped, the QEMU lab needs root');
      return;
    }
    const lines: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', [join(root, 'test', 'lab', 'run.sh'), 'bench'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      let partial = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        process.stdout.write(chunk);
        const text = partial + chunk;
        const split = text.split('\n');
        partial = split.pop() ?? '';
        lines.push(...split.filter((line) => line.startsWith('BENCH ')));
      });
      child.on('close', resolve);
    });
    console.log(`\n## vpn-lab results${code === 0 ? '' : ` (the lab run ended with ${code ?? 'a signal'})`}\n`);
    for (const line of lines) console.log(line.slice('BENCH '.length));
  },
};
