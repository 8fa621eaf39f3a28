// RFC 4648 §4: the standard alphabet in whole 4-character quanta, `=` padding only to complete the last one.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The bytes of `text` when it is canonical base64 (RFC 4648 §4 and §3.5), or undefined when it is not.
 * `Buffer.from(text, 'base64')` decodes anything: it skips characters outside the alphabet, accepts the
 * URL-safe one, missing or extra padding and a stray `=` in the middle (`!!!!` → empty), so a corrupted
 * input would be stored as different bytes. Here every such text is refused, and so are non-zero pad bits
 * (`QR==`), which would make two texts decode to the same bytes. No whitespace is allowed: a caller that
 * accepts line-wrapped input removes its line breaks first. Never throws.
 */
export const decodeBase64Strict = (text: string): Buffer | undefined => {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Re-encoding gives the text back exactly iff its pad bits were zero; everything else was checked above.
  return bytes.toString('base64') === text ? bytes : undefined;
};
