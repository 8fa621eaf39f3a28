/**
 * Request validation, in the terms of the Strimzi bridge's OpenAPI document (protocol doc §9): every
 * object is closed (additionalProperties false), required fields are listed, and JSON types are exact (no
 * coercion).
 */
export type Schema =
  | {
      readonly type: 'object';
      readonly properties: Readonly<Record<string, Schema>>;
      readonly required?: readonly string[];
    }
  | { readonly type: 'array'; readonly items: Schema }
  | {
      readonly type: 'string';
      readonly enum?: readonly string[];
      readonly nullable?: boolean;
      /** The document's `oneOf` of these types, which the binary format narrows to a string. */
      readonly oneOf?: readonly string[];
    }
  | { readonly type: 'integer' | 'boolean' };

const jsonType = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'array'
      : Number.isInteger(value)
        ? 'integer'
        : typeof value;

/**
 * What is wrong with `value`, in the bridge's words (its JSON Schema validator's, as observed in
 * peers/observed-answers.md): a nested problem comes after the messages of the properties and items it is
 * inside. Empty when `value` fits.
 */
export const validate = (value: unknown, schema: Schema): string[] => {
  const typeProblem = `Instance type ${jsonType(value)} is invalid. Expected ${schema.type}`;
  switch (schema.type) {
    case 'object': {
      if (jsonType(value) !== 'object') return [typeProblem];
      const object = value as Record<string, unknown>;
      const problems: string[] = [];
      for (const name of schema.required ?? []) {
        if (!(name in object)) problems.push(`Instance does not have required property "${name}"`);
      }
      for (const [name, item] of Object.entries(object)) {
        const property = schema.properties[name];
        if (property === undefined) {
          problems.push(`Property "${name}" does not match additional properties schema`);
          continue;
        }
        const inner = validate(item, property);
        if (inner.length > 0) {
          problems.push(
            `Property "${name}" does not match schema`,
            ...inner,
            `Property "${name}" does not match additional properties schema`,
          );
        }
      }
      return problems;
    }
    case 'array': {
      if (!Array.isArray(value)) return [typeProblem];
      const inner = value.flatMap((item) => validate(item, schema.items));
      return inner.length === 0 ? [] : ['Items did not match schema', 'A subschema had errors', ...inner];
    }
    case 'string':
      if (value === null && schema.nullable === true) return [];
      if (typeof value !== 'string') {
        if (schema.oneOf === undefined) return [typeProblem];
        return [
          'A subschema had errors',
          'Instance does not match exactly one subschema (0 matches)',
          ...schema.oneOf.map((type) => `Instance type ${jsonType(value)} is invalid. Expected ${type}`),
        ];
      }
      return schema.enum !== undefined && !schema.enum.includes(value)
        ? [`Instance does not have a value in the enumeration ${JSON.stringify(schema.enum)}`]
        : [];
    case 'integer':
    case 'boolean':
      return jsonType(value) === schema.type ? [] : [typeProblem];
  }
};

const STRING: Schema = { type: 'string' };
const INTEGER: Schema = { type: 'integer' };
const PARTITION: Schema = {
  type: 'object',
  properties: { topic: STRING, partition: INTEGER },
  required: ['topic', 'partition'],
};
const PARTITIONS: Schema = {
  type: 'object',
  properties: { partitions: { type: 'array', items: PARTITION } },
  required: ['partitions'],
};
const OFFSETS: Schema = {
  type: 'object',
  properties: {
    offsets: {
      type: 'array',
      items: {
        type: 'object',
        properties: { topic: STRING, partition: INTEGER, offset: INTEGER },
        required: ['topic', 'partition', 'offset'],
      },
    },
  },
  required: ['offsets'],
};

export const SCHEMAS = {
  produce: {
    type: 'object',
    properties: {
      records: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            key: { type: 'string', oneOf: ['array', 'object', 'string'] },
            // The bridge's document lets a null value through; its binary converter then decodes the text.
            value: { type: 'string', nullable: true },
            partition: INTEGER,
            timestamp: INTEGER,
            headers: {
              type: 'array',
              items: {
                type: 'object',
                properties: { key: STRING, value: STRING },
                required: ['key', 'value'],
              },
            },
          },
          required: ['value'],
        },
      },
    },
    required: ['records'],
  },
  consumer: {
    type: 'object',
    properties: {
      name: STRING,
      format: { type: 'string', enum: ['binary', 'json', 'text'] },
      'auto.offset.reset': { type: 'string', enum: ['latest', 'earliest', 'none'] },
      'enable.auto.commit': { type: 'boolean' },
      'fetch.min.bytes': INTEGER,
      'consumer.request.timeout.ms': INTEGER,
      'isolation.level': { type: 'string', enum: ['read_committed', 'read_uncommitted'] },
    },
  },
  partitions: PARTITIONS,
  offsets: OFFSETS,
  subscription: {
    type: 'object',
    properties: { topics: { type: 'array', items: STRING }, topic_pattern: STRING },
  },
  topic: {
    type: 'object',
    properties: { topic_name: STRING, partitions_count: INTEGER, replication_factor: INTEGER },
    required: ['topic_name'],
  },
} as const satisfies Record<string, Schema>;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };
