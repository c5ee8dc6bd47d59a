import type { Output } from '../../src/cli/run-view.js';

/** Captures what the CLI writes, as a terminal or as a pipe. */
export function captureOutput(isTTY = false, columns = 100): Output & { readonly text: () => string } {
  const chunks: string[] = [];
  return {
    write: (text) => { chunks.push(text); },
    isTTY,
    columns,
    text: () => chunks.join(''),
  };
}

export function captureIo(isTTY = false) {
  const out = captureOutput(isTTY);
  const err = captureOutput(isTTY);
  return { io: { out, err }, out, err };
}
