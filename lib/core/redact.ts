/**
 * What a server that echoes a request header would show of it: each value; for `Scheme value` (Basic,
 * Bearer) the bare value; for Basic also the decoded `user:password` and the password. Short values are
 * left alone: replacing them would mangle ordinary text.
 */
export const secretsOfHeaders = (headers: Readonly<Record<string, string>>): string[] => {
  const values: string[] = [];
  for (const value of Object.values(headers)) {
    values.push(value);
    const space = value.indexOf(' ');
    if (space <= 0 || space >= value.length - 1) continue;
    const credential = value.slice(space + 1);
    values.push(credential);
    if (value.slice(0, space).toLowerCase() === 'basic') {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      values.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
    }
  }
  // Longest first, so a value is never left half-redacted by a shorter one inside it.
  return values.filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
};

/** Replaces every occurrence of each secret, so an echoed credential never reaches an error or a log. */
export const redact = (text: string, secrets: readonly string[]): string => {
  let redacted = text;
  for (const secret of secrets) redacted = redacted.replaceAll(secret, '[redacted]');
  return redacted;
};

/** The part of a body kept for diagnosis (like undici's `ResponseError`). */
export const SNIPPET_CHARS = 256;
/** Past the cut, enough of the body to recognise a credential that starts before it. */
const SNIPPET_LOOKAHEAD_CHARS = 1_024;

/**
 * The first `chars` of `text` with every secret replaced. Redacted before it is cut: a secret straddling
 * the cut would otherwise leave its first characters in the snippet.
 */
export const redactedSnippet = (text: string, secrets: readonly string[], chars = SNIPPET_CHARS): string =>
  redact(text.slice(0, chars + SNIPPET_LOOKAHEAD_CHARS), secrets).slice(0, chars);
