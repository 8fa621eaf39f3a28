import { redact, SNIPPET_CHARS } from '../core/redact.js';

/**
 * The head of an answer body for an error, with every `secrets` value redacted BEFORE it is cut to
 * {@link SNIPPET_CHARS}: cut first, and the head of an echoed credential that straddles the cut survives.
 * At most `maxBytes` are read; the rest is abandoned (the stream is destroyed). A body longer than that
 * (or broken) also loses a tail that begins a secret, since a credential cut by the read limit would not
 * match whole. A body that breaks keeps what arrived: the status is what matters.
 */
export const readRedactedSnippet = async (
  body: AsyncIterable<Buffer>,
  maxBytes: number,
  secrets: readonly string[],
): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  let complete = false;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) break;
    }
    complete = size <= maxBytes;
  } catch {
    // A broken error body is no reason to lose the status we already have.
  }
  const text = Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
  const whole = complete ? text : withoutSecretHead(text.replace(/\uFFFD+$/u, ''), secrets);
  return redact(whole, secrets).slice(0, SNIPPET_CHARS);
};

/** `text` without its longest tail that is the beginning of one of `secrets`. */
const withoutSecretHead = (text: string, secrets: readonly string[]): string => {
  let end = text.length;
  for (const secret of secrets) {
    for (let start = Math.max(0, text.length - secret.length + 1); start < end; start += 1) {
      const begins =
        text.charCodeAt(start) === secret.charCodeAt(0) &&
        text.startsWith(secret.slice(0, text.length - start), start);
      if (begins) {
        end = start;
        break;
      }
    }
  }
  return text.slice(0, end);
};
