import type { LogStore } from './log-store.js';

/**
 * The IBM Message Hub admin API for topics (protocol doc §5), served by the local Kafka REST server under
 * `/admin/topics` so that `KAFKA_ADMIN_URL` can point at the same server as `KAFKA_REST_URL`.
 *
 * Differences from Message Hub, on purpose:
 * - Creation and deletion take effect before the 202 is sent. Message Hub's are asynchronous: a created
 *   topic can take seconds to appear, and a deleted one stays listed for a while with
 *   `markedForDeletion: true`. Here `markedForDeletion` is always false.
 * - Retention is recorded and listed, never enforced (records are dropped only by `truncateBefore`), and it
 *   is not persisted with `dataDir`: after a restart every topic lists the default 24 h.
 * - Deleting an unknown topic answers 404, as IBM's own mock service (message-hub-rest `test/kafka-mock.js`)
 *   does; the documentation only says that a rejected request gets 422.
 */
export interface AdminApi {
  /** Answers one request to a path for which `isAdminPath` is true. Never throws. */
  handle(request: AdminRequest): AdminReply;
}

export interface AdminRequest {
  /** Upper-case. */
  readonly method: string;
  /** Raw path (still percent-encoded), without the query. */
  readonly path: string;
  readonly body: string;
  /** Whether the request carried a credential the server accepts (or none is required). */
  readonly authorized: boolean;
}

export interface AdminReply {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/** The part of the log store the admin API changes: the same topics the REST API produces to and reads. */
export type AdminTopicStore = Pick<LogStore, 'topicNames' | 'partitionCount' | 'createTopic' | 'deleteTopic'>;

/** `errorCode` values of the admin API's camelCase error body. */
export const ADMIN_ERROR_CODES = {
  /** Documented by IBM, and tolerated by IBM's client as "the topic is already there". */
  TOPIC_EXISTS: 42201,
  INVALID_REQUEST: 422,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
} as const;

const HOUR_MS = 3_600_000;

/** Message Hub's limits and defaults for `POST /admin/topics` (protocol doc §5). */
export const ADMIN_TOPIC_LIMITS = {
  minPartitions: 1,
  maxPartitions: 100,
  defaultPartitions: 1,
  retentionStepMs: HOUR_MS,
  minRetentionMs: HOUR_MS,
  maxRetentionMs: 30 * 24 * HOUR_MS,
  defaultRetentionMs: 24 * HOUR_MS,
} as const;

const JSON_TYPE = 'application/json';
const CREATE_FIELDS = ['name', 'partitions', 'configs'];
const CONFIG_FIELDS = ['retentionMs'];
// Kafka's own rule for topic names; `.` and `..` are legal characters but not legal names.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** True for the paths the admin API owns; the server routes these here instead of to the v1 API. */
export const isAdminPath = (path: string): boolean => path === '/admin' || path.startsWith('/admin/');

const reply = (
  status: number,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): AdminReply => ({
  status,
  contentType: body === undefined ? undefined : JSON_TYPE,
  body: body === undefined ? undefined : JSON.stringify(body),
  headers,
});

// The admin API's errors are camelCase, unlike the v1 API's `{error_code, message}` (protocol doc §5).
const failure = (status: number, errorCode: number, errorMessage: string, headers?: Record<string, string>) =>
  reply(status, { errorCode, errorMessage }, headers);

const invalid = (errorMessage: string): AdminReply =>
  failure(422, ADMIN_ERROR_CODES.INVALID_REQUEST, errorMessage);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isIntIn = (value: unknown, min: number, max: number): value is number =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

const isTopicName = (name: string): boolean => TOPIC_NAME.test(name) && name !== '.' && name !== '..';

type Target = { readonly kind: 'collection' } | { readonly kind: 'topic'; readonly name: string };

const matchTarget = (path: string): Target | undefined => {
  if (path === '/admin/topics' || path === '/admin/topics/') return { kind: 'collection' };
  const match = /^\/admin\/topics\/([^/]+)\/?$/.exec(path);
  if (match === null) return undefined;
  try {
    return { kind: 'topic', name: decodeURIComponent(match[1] as string) };
  } catch {
    return undefined;
  }
};

interface CreateRequest {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
}

/** Validates a create body in the order a reader fixes it: shape, name, partitions, configs. */
const parseCreate = (body: string): CreateRequest | string => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'the request body must be a JSON object {"name", "partitions"?, "configs"?}';
  }
  if (!isObject(value)) return 'the request body must be a JSON object {"name", "partitions"?, "configs"?}';
  const unknown = Object.keys(value).find((key) => !CREATE_FIELDS.includes(key));
  if (unknown !== undefined) return `Unrecognized field: ${unknown}`;
  const { name, partitions, configs } = value;
  if (typeof name !== 'string' || !isTopicName(name)) {
    return 'name must be a topic name: 1 to 249 of [a-zA-Z0-9._-], not "." or ".."';
  }
  const { minPartitions, maxPartitions, retentionStepMs, minRetentionMs, maxRetentionMs } =
    ADMIN_TOPIC_LIMITS;
  if (partitions !== undefined && !isIntIn(partitions, minPartitions, maxPartitions)) {
    return `partitions must be an integer from ${minPartitions} to ${maxPartitions}`;
  }
  let retentionMs: unknown;
  if (configs !== undefined) {
    if (!isObject(configs)) return 'configs must be an object {"retentionMs"?}';
    const unknownConfig = Object.keys(configs).find((key) => !CONFIG_FIELDS.includes(key));
    if (unknownConfig !== undefined) return `Unrecognized field: configs.${unknownConfig}`;
    retentionMs = configs.retentionMs;
    if (
      retentionMs !== undefined &&
      !(isIntIn(retentionMs, minRetentionMs, maxRetentionMs) && retentionMs % retentionStepMs === 0)
    ) {
      return `configs.retentionMs must be a whole number of hours in ms (a multiple of ${retentionStepMs}) from ${minRetentionMs} (1 h) to ${maxRetentionMs} (30 d)`;
    }
  }
  return {
    name,
    partitions: (partitions as number | undefined) ?? ADMIN_TOPIC_LIMITS.defaultPartitions,
    retentionMs: (retentionMs as number | undefined) ?? ADMIN_TOPIC_LIMITS.defaultRetentionMs,
  };
};

/**
 * Creates the admin API over `store`. Retention is kept here, per server instance: topics created any
 * other way (server options, auto-create, the programmatic `createTopic`) list the default 24 h.
 */
export const createAdminApi = (store: AdminTopicStore): AdminApi => {
  const retentionByTopic = new Map<string, number>();

  const list = (): AdminReply =>
    reply(
      200,
      store.topicNames().map((name) => ({
        name,
        partitions: store.partitionCount(name),
        retentionMs: retentionByTopic.get(name) ?? ADMIN_TOPIC_LIMITS.defaultRetentionMs,
        markedForDeletion: false,
      })),
    );

  const create = (body: string): AdminReply => {
    const parsed = parseCreate(body);
    if (typeof parsed === 'string') return invalid(parsed);
    if (store.partitionCount(parsed.name) !== undefined) {
      return failure(422, ADMIN_ERROR_CODES.TOPIC_EXISTS, 'Topic already exists.');
    }
    store.createTopic(parsed.name, parsed.partitions);
    retentionByTopic.set(parsed.name, parsed.retentionMs);
    return reply(202);
  };

  const remove = (name: string): AdminReply => {
    if (store.partitionCount(name) === undefined) {
      return failure(404, ADMIN_ERROR_CODES.NOT_FOUND, 'Topic not found.');
    }
    store.deleteTopic(name);
    retentionByTopic.delete(name);
    return reply(202);
  };

  return {
    handle: (request) => {
      // Message Hub's gateway checks the key before the admin service sees the request.
      if (!request.authorized) {
        return failure(
          401,
          ADMIN_ERROR_CODES.UNAUTHORIZED,
          'Unauthorized: a valid X-Auth-Token header is required',
        );
      }
      const target = matchTarget(request.path);
      if (target === undefined) return failure(404, ADMIN_ERROR_CODES.NOT_FOUND, 'HTTP 404 Not Found');
      const allowed = target.kind === 'collection' ? ['GET', 'POST'] : ['DELETE'];
      if (!allowed.includes(request.method)) {
        return failure(405, ADMIN_ERROR_CODES.METHOD_NOT_ALLOWED, 'HTTP 405 Method Not Allowed', {
          allow: allowed.join(', '),
        });
      }
      if (target.kind === 'topic') return remove(target.name);
      return request.method === 'GET' ? list() : create(request.body);
    },
  };
};
