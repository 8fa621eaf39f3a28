import { parseArgs } from 'node:util';
import { checkTopicName, TOPIC_LIMITS } from '../lib/admin/admin-api.js';
import type { TopicAdmin, TopicSummary } from '../lib/admin/topic-admin-types.js';
import { isAppError } from '../lib/core/errors.js';

export const TOPICS_USAGE = `Usage: npm run topics -- <command> [options]

  list [--json]                          topics with partitions, retention and deletion state
  describe <topic> [--json]              partitions with their leader, replicas and in-sync replicas
  create <topic> [--partitions N] [--retention-hours H]
                                         N 1-100 (default 1), H 1-720 (default 24); needs KAFKA_ADMIN_URL
  delete <topic>                         needs KAFKA_ADMIN_URL

Message Hub creates and deletes topics asynchronously: a new topic may take a few seconds to be listed,
and a deleted one stays listed, marked for deletion, for a while.
Environment: the functions' KAFKA_REST_URL, KAFKA_REST_AUTH, KAFKA_REST_SECRET_ID (or KAFKA_REST_API_KEY
locally), KAFKA_REST_ALLOW_HTTP, AWS_REGION; and KAFKA_ADMIN_URL (Message Hub's kafka_admin_url).
Exit codes: 0 done, 1 failed, 2 usage or configuration.`;

export type TopicsCommand =
  | { readonly name: 'list'; readonly json: boolean }
  | { readonly name: 'describe'; readonly topic: string; readonly json: boolean }
  | {
      readonly name: 'create';
      readonly topic: string;
      readonly partitions: number | undefined;
      readonly retentionHours: number | undefined;
    }
  | { readonly name: 'delete'; readonly topic: string };

export type ParsedTopicsArgs =
  | { readonly kind: 'command'; readonly command: TopicsCommand }
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string };

export interface TopicsCommandDeps {
  readonly admin: TopicAdmin;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const EXIT_CODES = { OK: 0, FAILED: 1, USAGE: 2 } as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Turns argv (without node and script) into a command; never throws, so the CLI can print usage and exit 2. */
export const parseTopicsArgs = (argv: readonly string[]): ParsedTopicsArgs => {
  let values: { json?: boolean; help?: boolean; partitions?: string; 'retention-hours'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        partitions: { type: 'string' },
        'retention-hours': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { kind: 'usage-error', message: (error as Error).message };
  }
  const [name, ...args] = positionals;
  if (values.help === true || name === 'help') return { kind: 'help' };
  if (name === undefined) return { kind: 'usage-error', message: 'a command is required' };
  const problems: string[] = [];
  const createOnly = values.partitions !== undefined || values['retention-hours'] !== undefined;
  if (createOnly && name !== 'create') problems.push('--partitions and --retention-hours belong to create');
  if (values.json === true && name !== 'list' && name !== 'describe') {
    problems.push('--json belongs to list and describe');
  }

  if (name === 'list') {
    if (args.length > 0) problems.push('list takes no topic');
    return done(problems, { name, json: values.json === true });
  }
  if (name !== 'describe' && name !== 'create' && name !== 'delete') {
    return { kind: 'usage-error', message: `unknown command ${JSON.stringify(name)}` };
  }
  if (args.length !== 1) {
    return { kind: 'usage-error', message: `${name} takes exactly one topic name` };
  }
  const topic = args[0] as string;
  const nameProblem = checkTopicName(topic);
  if (nameProblem !== undefined) problems.push(nameProblem);
  if (name === 'describe') return done(problems, { name, topic, json: values.json === true });
  if (name === 'delete') return done(problems, { name, topic });

  const partitions = toInt(values.partitions);
  const retentionHours = toInt(values['retention-hours']);
  const { minPartitions, maxPartitions, minRetentionMs, maxRetentionMs } = TOPIC_LIMITS;
  if (partitions !== undefined && !isIntIn(partitions, minPartitions, maxPartitions)) {
    problems.push(
      `--partitions must be an integer from ${minPartitions} to ${maxPartitions}, got ${values.partitions}`,
    );
  }
  // Whole hours on the command line: the admin API takes only multiples of an hour anyway.
  if (
    retentionHours !== undefined &&
    !isIntIn(retentionHours, minRetentionMs / HOUR_MS, maxRetentionMs / HOUR_MS)
  ) {
    problems.push(
      `--retention-hours must be an integer from ${minRetentionMs / HOUR_MS} to ${maxRetentionMs / HOUR_MS} (30 days), got ${values['retention-hours']}`,
    );
  }
  return done(problems, { name, topic, partitions, retentionHours });
};

const done = (problems: readonly string[], command: TopicsCommand): ParsedTopicsArgs =>
  problems.length > 0 ? { kind: 'usage-error', message: problems.join('\n') } : { kind: 'command', command };

const isIntIn = (value: number, min: number, max: number): boolean =>
  Number.isSafeInteger(value) && value >= min && value <= max;

/** undefined when absent, NaN when not a decimal integer. */
const toInt = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  return /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
};

/**
 * Runs one command and returns the exit code: 0 done (an `exists` answer to create included: the topic is
 * there, left as it was), 1 failed (a delete of an unknown topic included), 2 configuration (no admin API
 * for create/delete, a refused argument). Never throws: errors are printed as `code: message`, which never
 * carry the credential.
 */
export const runTopicsCommand = async (deps: TopicsCommandDeps, command: TopicsCommand): Promise<number> => {
  try {
    return await run(deps, command);
  } catch (error) {
    if (isAppError(error)) {
      deps.err(`${error.code}: ${error.message}`);
      return error.code === 'ERR_CONFIG' || error.code === 'ERR_PAYLOAD_INVALID'
        ? EXIT_CODES.USAGE
        : EXIT_CODES.FAILED;
    }
    deps.err(`unexpected error: ${(error as Error | undefined)?.name ?? typeof error}`);
    return EXIT_CODES.FAILED;
  }
};

const run = async ({ admin, out, err }: TopicsCommandDeps, command: TopicsCommand): Promise<number> => {
  switch (command.name) {
    case 'list': {
      const topics = await admin.listTopics();
      if (command.json) out(JSON.stringify(topics, null, 2));
      else out(toTopicsTable(topics, admin.hasAdminApi));
      return EXIT_CODES.OK;
    }
    case 'describe': {
      const topic = await admin.describeTopic(command.topic);
      if (topic === undefined) {
        err(`topic ${command.topic} does not exist`);
        return EXIT_CODES.FAILED;
      }
      if (command.json) {
        out(JSON.stringify(topic, null, 2));
        return EXIT_CODES.OK;
      }
      const count = topic.partitions.length;
      out(`topic ${topic.name}: ${count} partition${count === 1 ? '' : 's'}`);
      out(
        toTable(
          ['PARTITION', 'LEADER', 'REPLICAS', 'IN-SYNC'],
          topic.partitions.map((p) => [
            String(p.partition),
            String(p.leader),
            p.replicas.map((r) => r.broker).join(',') || '-',
            p.replicas
              .filter((r) => r.inSync)
              .map((r) => r.broker)
              .join(',') || '-',
          ]),
        ),
      );
      return EXIT_CODES.OK;
    }
    case 'create': {
      const outcome = await admin.createTopic(command.topic, {
        ...(command.partitions === undefined ? {} : { partitions: command.partitions }),
        ...(command.retentionHours === undefined ? {} : { retentionMs: command.retentionHours * HOUR_MS }),
      });
      if (outcome.status === 'exists') {
        out(`topic ${command.topic} already exists: left unchanged`);
        return EXIT_CODES.OK;
      }
      const partitions = outcome.partitions ?? 1;
      out(
        `topic ${command.topic}: creation accepted (${partitions} partition${partitions === 1 ? '' : 's'}, retention ${formatDuration(outcome.retentionMs ?? DAY_MS)}${outcome.retentionMs === undefined ? ' by default' : ''}); it may take a few seconds to be listed`,
      );
      return EXIT_CODES.OK;
    }
    case 'delete': {
      const outcome = await admin.deleteTopic(command.topic);
      if (outcome.status === 'not-found') {
        err(`topic ${command.topic} does not exist`);
        return EXIT_CODES.FAILED;
      }
      out(`topic ${command.topic}: deletion accepted; it may stay listed, marked for deletion, for a while`);
      return EXIT_CODES.OK;
    }
  }
};

/** `7d`, `36h`, or milliseconds when not a whole number of hours. */
export const formatDuration = (ms: number): string => {
  if (ms > 0 && ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  if (ms > 0 && ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  return `${ms}ms`;
};

const toTopicsTable = (topics: readonly TopicSummary[], hasAdminApi: boolean): string => {
  if (topics.length === 0) return 'no topics';
  const table = toTable(
    ['TOPIC', 'PARTITIONS', 'RETENTION', 'STATE'],
    topics.map((t) => [
      t.name,
      t.partitions === undefined ? '-' : String(t.partitions),
      t.retentionMs === undefined ? '-' : formatDuration(t.retentionMs),
      t.markedForDeletion ? 'marked for deletion' : 'active',
    ]),
  );
  return hasAdminApi
    ? table
    : `${table}\n(retention and deletion state come from the admin API: set KAFKA_ADMIN_URL)`;
};

/** Left-aligned columns two spaces apart, no trailing blanks. */
export const toTable = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  return [headers, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};
