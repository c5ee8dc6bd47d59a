import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileLogger, createMemoryLogger, logFileFor } from '../../src/os/log.js';
import { SecretRedactor } from '../../src/os/redact.js';

describe('logging', () => {
  it('writes JSON lines with fields and redacts secrets wherever they hide', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backhaul-log-'));
    const redactor = new SecretRedactor();
    const canary = `canary-${Math.random().toString(36).slice(2)}`;
    redactor.add(canary);
    const tapped: string[] = [];
    const logger = createFileLogger({ logDir: dir, redactor, tap: (line) => tapped.push(line) });
    logger.child({ sessionId: 's1' }).log('info', `state preflight ${canary}`, { nested: { value: Buffer.from(canary).toString('base64') } });
    await logger.close();
    const text = await readFile(logFileFor(dir), 'utf8');
    const line = JSON.parse(text.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', message: 'state preflight [REDACTED]', sessionId: 's1', nested: { value: '[REDACTED]' } });
    expect(text).not.toContain(canary);
    expect((await stat(logFileFor(dir))).mode & 0o777).toBe(0o600);
    expect(tapped).toEqual([text.trim()]);
  });

  it('memory logger redacts too', () => {
    const redactor = new SecretRedactor();
    redactor.add('hunter2-secret');
    const logger = createMemoryLogger(redactor);
    logger.log('warn', 'pw=hunter2-secret');
    expect(logger.lines).toEqual(['{"level":"warn","message":"pw=[REDACTED]"}']);
  });
});
