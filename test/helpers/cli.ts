import { PassThrough } from 'node:stream';
import { main } from '../../src/main.js';

/** A writable that remembers what was written to it. */
export function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => {
    text += d;
  });
  return { stream, text: () => text };
}

/** Runs the keyguard CLI in-process with captured stdout and stderr. */
export async function runCli(args: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(args, out.stream, err.stream);
  return { code, stdout: out.text(), stderr: err.text() };
}
