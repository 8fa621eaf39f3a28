import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DeployCommand {
  readonly stage: string;
  readonly region: string;
  readonly params: Readonly<Record<string, string>>;
}

const MARKER = '<!-- deploy-command: checked by test/template.test.ts -->';

/**
 * The README's deploy command (the fenced block after its marker), read as the shell would: `--stage`,
 * `--region` and every single-quoted `--param 'name=value'`. Throws when the block is missing or holds
 * anything else, so the README cannot drift into a command this parser does not check.
 */
export const readmeDeployCommand = (root: string): DeployCommand => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no ${MARKER}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (block === undefined) throw new Error('README.md has no sh block after the deploy-command marker');
  const words = block.replace(/\\\n/g, ' ').trim();
  const head = /^npx serverless deploy --stage (\S+) --region (\S+)\s*/.exec(words);
  if (head === null)
    throw new Error('the README deploy command must start: npx serverless deploy --stage S --region R');
  const params: Record<string, string> = {};
  let rest = words.slice(head[0].length);
  while (rest.length > 0) {
    const param = /^--param '([^'=]+)=([^']*)'\s*/.exec(rest);
    if (param === null)
      throw new Error(`the README deploy command has an unexpected part: ${rest.slice(0, 60)}`);
    params[param[1] as string] = param[2] as string;
    rest = rest.slice(param[0].length);
  }
  return { stage: head[1] as string, region: head[2] as string, params };
};
