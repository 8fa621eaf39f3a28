/** Runs `calls` calls of `one`, `concurrency` at a time; resolves with the wall time in ms. */
export const runConcurrently = async (
  calls: number,
  concurrency: number,
  one: () => Promise<void>,
): Promise<number> => {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls) {
      next++;
      await one();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - start;
};
