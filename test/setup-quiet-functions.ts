/**
 * The functions' own JSON log lines and EMF metrics (Powertools writes them through its own Console, past
 * vitest's console capture) would fill `npm test`'s output between vitest's lines. Tests that assert on
 * them capture them (test/helpers/log.ts); every other one is dropped here, unless SHOW_FUNCTION_LOGS=1.
 */
if (process.env.SHOW_FUNCTION_LOGS !== '1') {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.startsWith('{"level":') || text.startsWith('{"_aws":')) return true;
      return (write as (chunk: string | Uint8Array, ...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
}
