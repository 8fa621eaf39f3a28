// `npm run dashboard:picture`: packages the stack as the README's deploy command would (offline, as
// test/template.test.ts does), draws its dashboard's layout (dev/dashboard-layout.ts) in Debian's Chromium
// and writes docs/dashboard.png, the README's picture of it.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './chromium.js';
import { PAGE_WIDTH_PX, toDashboardHtml, toDashboardLayout } from './dashboard-layout.js';
import { packageTemplate } from './package-stack.js';
import { readmeDeployCommand } from './readme-deploy.js';

const ROOT = join(import.meta.dirname, '..');
const PICTURE = join(ROOT, 'docs', 'dashboard.png');

const deploy = readmeDeployCommand(ROOT);
const layout = toDashboardLayout(await packageTemplate(ROOT, deploy.params, deploy));
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: PAGE_WIDTH_PX, height: 600 } });
  await page.setContent(toDashboardHtml(layout));
  await page.screenshot({ path: PICTURE, fullPage: true });
} finally {
  await browser.close();
}
// The README keeps its pictures small (under 150 KB): the size is printed so a grown dashboard shows it.
console.log(
  `${PICTURE}: ${layout.widgets.length} widgets of ${layout.name}, ${Math.round(statSync(PICTURE).size / 1024)} KB`,
);
