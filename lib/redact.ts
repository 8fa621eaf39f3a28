/**
 * What a server that echoes a request header would show of it: each value and, for `Scheme value`
 * (Basic, Bearer), the bare value. Short values are left alone: replacing them would mangle ordinary text.
 */
export const secretsOfHeaders = (headers: Readonly<Record<string, string>>): string[] => {
  const values: string[] = [];
  for (const value of Object.values(headers)) {
    values.push(value);
    const space = value.indexOf(' ');
    if (space > 0 && space < value.length - 1) values.push(value.slice(space + 1));
  }
  return values.filter((value) => value.length >= 4);
};

/** Replaces every occurrence of each secret, so an echoed credential never reaches an error or a log. */
export const redact = (text: string, secrets: readonly string[]): string => {
  let redacted = text;
  for (const secret of secrets) redacted = redacted.replaceAll(secret, '[redacted]');
  return redacted;
};
