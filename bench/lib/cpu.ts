/** CPU time of this process so far (user + system, all threads), in ms. */
export const cpuMsOfThisProcess = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
