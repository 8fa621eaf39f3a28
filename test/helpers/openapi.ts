import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { expect } from 'vitest';

// js-yaml ships no types; only its `load` is used.
const { load } = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

type Node = Record<string, unknown>;

/** docs/openapi.yaml, parsed. */
export const OPENAPI_DOCUMENT = load(
  readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'),
) as Node;

/**
 * The OpenAPI Initiative's schema of OpenAPI 3.1 documents (https://spec.openapis.org/oas/3.1/schema/2022-10-07,
 * a copy: the tests run offline), which ajv checks the document against. Its Schema Objects are a
 * `$dynamicRef` to `#meta`, which only a dialect schema extending it rebinds; ajv resolves such a reference
 * from the wrong scope, so it is pointed at the one anchor this schema has, the same definition (an
 * object or a boolean, not validated further).
 */
export const OAS_31_SCHEMA = JSON.parse(
  readFileSync(new URL('./oas-3.1-schema.json', import.meta.url), 'utf8').replaceAll(
    '"$dynamicRef": "#meta"',
    '"$ref": "#/$defs/schema"',
  ),
) as Node;

const PATH = '/hooks/{route}';

/** Follows a local `$ref` (`#/components/...`) of the document, as many times as it takes. */
const resolve = (node: unknown): Node => {
  let current = node as Node;
  while (typeof current.$ref === 'string') {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (at, part) => (at as Node)[part.replaceAll('~1', '/').replaceAll('~0', '~')],
        OPENAPI_DOCUMENT,
      ) as Node;
  }
  return current;
};

// The document is the schema registry: its `#/components/...` references resolve inside it. Formats
// (`uri` in the OAS schema) are annotations here: ajv-formats is not a dependency.
export const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(OPENAPI_DOCUMENT, 'openapi');
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
const validatorOf = (pointer: string) => {
  let validate = validators.get(pointer);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `openapi#${pointer}` });
    validators.set(pointer, validate);
  }
  return validate;
};
const toPointerPart = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Every problem with `response` against the document: its status is documented for the method, its media
 * type is, its body matches that media type's schema, and each documented header is there when required
 * and matches its schema when present.
 */
export const problemsOf = (method: string, response: APIGatewayProxyStructuredResultV2): string[] => {
  const status = String(response.statusCode);
  const operationPointer = `/paths/${toPointerPart(PATH)}/${method.toLowerCase()}`;
  const pathItem = resolve((OPENAPI_DOCUMENT.paths as Node)[PATH]);
  const documented = (pathItem[method.toLowerCase()] as Node | undefined)?.responses as Node | undefined;
  if (documented?.[status] === undefined) return [`${method} ${status} is not documented`];
  const ref = (documented[status] as Node).$ref;
  const responsePointer = typeof ref === 'string' ? ref.slice(1) : `${operationPointer}/responses/${status}`;
  const definition = resolve(documented[status]);
  const headers = Object.fromEntries(
    Object.entries(response.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  const problems: string[] = [];
  const mediaType = (headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const content = definition.content as Node | undefined;
  if (content?.[mediaType] === undefined) {
    problems.push(`${status}: media type ${mediaType} is not documented`);
  } else {
    const validate = validatorOf(`${responsePointer}/content/${toPointerPart(mediaType)}/schema`);
    if (!validate(JSON.parse(response.body ?? 'null'))) {
      problems.push(`${status} body: ${ajv.errorsText(validate.errors)}`);
    }
  }
  for (const [name, header] of Object.entries((definition.headers as Node | undefined) ?? {})) {
    const spec = resolve(header);
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (spec.required === true) problems.push(`${status}: header ${name} is missing`);
      continue;
    }
    const validate = ajv.compile(spec.schema as Node);
    if (!validate(value)) problems.push(`${status}: header ${name}: ${ajv.errorsText(validate.errors)}`);
  }
  return problems;
};

type WebhookHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * `handler`, with every answer it gives checked against docs/openapi.yaml as it is returned: a test that
 * uses it fails on an undocumented status, header or body whatever else it asserts.
 */
export const checkedAgainstOpenApi =
  (handler: WebhookHandler): WebhookHandler =>
  async (event, context) => {
    const response = await handler(event, context);
    expect(
      problemsOf(event.requestContext.http.method, response),
      'the answer matches docs/openapi.yaml',
    ).toEqual([]);
    return response;
  };
