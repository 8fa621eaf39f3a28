import { randomUUID } from 'node:crypto';
import { rawCall } from '../../dev/kafka-rest/raw-client.js';
import { exchangesFor, runExchanges } from './exchanges.js';

/**
 * Sends the fixed exchanges (exchanges.ts) to a Strimzi-style server and prints its answers as Markdown:
 * how peers/observed-answers.md is made from the real bridge.
 *
 *   npx tsx test/peers/observe-cli.ts <base url> <consumer timeout seconds> [--no-create-topic <topic>]
 */
const [baseUrl, timeoutSeconds, flag, given] = process.argv.slice(2);
if (baseUrl === undefined || timeoutSeconds === undefined) {
  console.error('usage: observe-cli.ts <base url> <consumer timeout seconds> [--no-create-topic <topic>]');
  process.exit(2);
}
const suffix = randomUUID().slice(0, 8);
const topic = flag === '--no-create-topic' && given !== undefined ? given : `observe-${suffix}`;
if (flag !== '--no-create-topic') {
  const created = await rawCall(baseUrl, 'POST', '/admin/topics', {
    headers: { 'content-type': 'application/vnd.kafka.json.v2+json' },
    body: { topic_name: topic, partitions_count: 2, replication_factor: 1 },
  });
  if (created.status !== 201) throw new Error(`POST /admin/topics: ${created.status} ${created.text}`);
}

const observed = await runExchanges(
  baseUrl,
  exchangesFor({ topic, group: `group-${suffix}`, consumerTimeoutMs: Number(timeoutSeconds) * 1000 }),
);
// Long base64 values shortened, so a 1.5 MB request reads as what it is.
const shorten = (text: string) =>
  text.replace(/[A-Za-z0-9+/=]{80,}/g, (m) => `${m.slice(0, 16)}…(${m.length} chars)`);
for (const { exchange, reply } of observed) {
  const request =
    exchange.body === undefined ? '' : ` ${shorten(JSON.stringify(exchange.body).replaceAll(topic, '{t}'))}`;
  console.log(`### ${exchange.name}\n`);
  console.log(
    `\`${exchange.method} ${exchange.path.replaceAll(topic, '{t}').replace(/group-[0-9a-f]{8}/, '{g}')}\`${exchange.headers?.['content-type'] === undefined ? '' : ` (Content-Type \`${exchange.headers['content-type']}\`)`}${exchange.headers?.accept === undefined ? '' : ` (Accept \`${exchange.headers.accept}\`)`}${request}\n`,
  );
  console.log(`→ **${reply.status}**, content-type \`${reply.contentType ?? '(none)'}\`\n`);
  console.log(
    `\`\`\`\n${shorten(reply.text.replaceAll(topic, '{t}').replace(/group-[0-9a-f]{8}/, '{g}')) || '(empty body)'}\n\`\`\`\n`,
  );
}
