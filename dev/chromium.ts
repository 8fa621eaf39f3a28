import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Launches Debian's chromium package (`CHROMIUM_PATH` names another binary) through playwright-core, which
 * brings and downloads no browser. Throws, saying how to install it, when the binary is missing.
 */
export const launchChromium = async (): Promise<Browser> => {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `no Chromium at ${executablePath}: install Debian's package (apt-get update && apt-get install -y chromium), or set CHROMIUM_PATH to a Chromium binary`,
    );
  }
  return chromium.launch({
    executablePath,
    // Chromium's sandbox refuses to run as root, which CI and this machine are.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
};
