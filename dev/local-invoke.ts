/**
 * One synchronous invoke of a function `npm start` runs, through the offline Lambda API (the Invoke API's
 * path): what `npm run send`, the drain schedule and the local event source mappings call.
 */

/** The function's answer, or the error it ended with (`X-Amz-Function-Error`, the payload's text). */
export type LocalInvokeResult =
  | { readonly ok: true; readonly payload: unknown }
  | { readonly ok: false; readonly error: string };

/** The local stage's name of a function of serverless.yml (`queue` → `kafka-rest-bridge-local-queue`). */
export const localFunctionName = (name: string): string => `kafka-rest-bridge-local-${name}`;

/** Throws when nothing answers at `lambdaPort` (the fetch's own error). */
export const invokeLocal = async (
  lambdaPort: number,
  functionName: string,
  event: unknown,
): Promise<LocalInvokeResult> => {
  const url = `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/${localFunctionName(functionName)}/invocations`;
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(event) });
  const text = await response.text();
  if (!response.ok || response.headers.get('x-amz-function-error')) {
    return { ok: false, error: text.slice(0, 500) || `HTTP ${response.status}` };
  }
  return { ok: true, payload: text === '' ? undefined : (JSON.parse(text) as unknown) };
};
