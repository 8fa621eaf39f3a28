/** A route setting's discriminator (`"scheme"`, `"from"`) narrowed to the values it may take. */
export const isOneOf = <T extends string>(values: readonly T[], value: unknown): value is T =>
  typeof value === 'string' && (values as readonly string[]).includes(value);
