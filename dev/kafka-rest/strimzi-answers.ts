import { CONSUMER_ERROR_CODES, type ConsumerFailure } from './consumer-types.js';
import type { Exchange } from './exchange.js';
import { send } from './exchange.js';
import { MEDIA_TYPES } from './media-types.js';
import type { Checked, Schema } from './strimzi-schemas.js';
import { validate } from './strimzi-schemas.js';

/** How the Strimzi bridge answers: JSON in the v2 type, errors with the HTTP status as `error_code`. */

export const JSON_V2 = MEDIA_TYPES.V2_JSON;
export const BINARY_V2 = MEDIA_TYPES.V2_BINARY;

const INSTANCE_NOT_FOUND_MESSAGE = 'The specified consumer instance was not found.';
export const UNSUPPORTED_BODY_FORMAT = 'Validation error on: The format of the request body is not supported';

export const answer = (x: Exchange, status: number, body: unknown): void =>
  send(x, status, JSON_V2, JSON.stringify(body));
export const error = (x: Exchange, status: number, message: string): void =>
  answer(x, status, { error_code: status, message });
export const noContent = (x: Exchange): void => send(x, 204, undefined, undefined);
export const notFound = (x: Exchange): void => error(x, 404, 'Not Found');

/** The JSON body checked against `schema`; answered (400) when it is not that. */
export const body = <T>(x: Exchange, schema: Schema, optional = false): Checked<T> => {
  if (x.body.trim() === '') {
    if (optional) return { ok: true, value: undefined as T };
    error(x, 400, 'Validation error on: Body required');
    return { ok: false };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(x.body);
  } catch {
    error(x, 400, 'Validation error on: Failed to decode the body: it is not JSON');
    return { ok: false };
  }
  const problems = validate(parsed, schema);
  if (problems.length > 0) {
    answer(x, 400, {
      error_code: 400,
      message: 'Validation error on: Schema validation error',
      validation_errors: problems,
    });
    return { ok: false };
  }
  return { ok: true, value: parsed as T };
};

/** A control call's Content-Type: the v2 JSON type, or 400 as the bridge's document says of any other. */
export const controlType = (x: Exchange, expected: string = JSON_V2): boolean => {
  const type = x.req.headers['content-type'];
  if (type === expected || (type === undefined && x.body.trim() === '')) return true;
  error(x, 400, UNSUPPORTED_BODY_FORMAT);
  return false;
};

/** Registry refusals in the bridge's words and codes (the HTTP status as `error_code`). */
export const failure = (x: Exchange, problem: ConsumerFailure) => {
  switch (problem.errorCode) {
    case CONSUMER_ERROR_CODES.INSTANCE_NOT_FOUND:
      return error(x, 404, INSTANCE_NOT_FOUND_MESSAGE);
    case CONSUMER_ERROR_CODES.ILLEGAL_STATE:
      // Kafka's IllegalStateException text, which the bridge answers as a 404.
      return error(x, 404, problem.message.replace(/^Illegal state: /, ''));
    case CONSUMER_ERROR_CODES.INSTANCE_EXISTS:
      return error(x, 409, 'A consumer instance with the specified name already exists in the Kafka Bridge.');
    default:
      return error(x, problem.status, problem.message);
  }
};
