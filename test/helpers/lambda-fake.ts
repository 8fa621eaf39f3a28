import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`), for the drain's
 * fan-out: Lambda cannot run here, so it is faked at the HTTP boundary, as SQS and EventBridge are
 * (`aws-fakes.ts`). An `Event` invocation of a known function is answered 202 and then run by `run`
 * (Lambda's asynchronous queue: the caller never waits for it); an unknown function gets 404
 * `ResourceNotFoundException`, an event over 256 KB 413, a request without a SigV4 `lambda` signature 403,
 * as Lambda answers them. Every call is recorded; a test can script failures of the next ones.
 */

export interface LambdaInvocation {
  readonly functionName: string;
  readonly invocationType: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly payload: unknown;
  /** What the fake answered. */
  status: number;
}

export interface FakeLambda {
  readonly endpoint: string;
  readonly invocations: LambdaInvocation[];
  /** The next `times` invokes (default 1) answer `status` with the AWS error `type`. */
  failInvokes(fault: { readonly status: number; readonly type: string; readonly times?: number }): void;
  /** Resolves once every run started so far (and any they started) has ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const MAX_EVENT_BYTES = 256 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export const startFakeLambda = async (options: {
  /** The function names (or ARNs) Invoke accepts. */
  readonly functions: readonly string[];
  /** Runs one accepted asynchronous invocation; a rejection is recorded in `runErrors`, as Lambda logs it. */
  readonly run: (payload: unknown, functionName: string) => Promise<unknown>;
}): Promise<FakeLambda & { readonly runErrors: unknown[] }> => {
  const invocations: LambdaInvocation[] = [];
  const runErrors: unknown[] = [];
  const running = new Set<Promise<void>>();
  const faults: { status: number; type: string; left: number }[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const match = INVOKE_PATH.exec(req.url ?? '');
      const functionName = decodeURIComponent(match?.[1] ?? '');
      let payload: unknown;
      try {
        payload = JSON.parse(body.toString('utf8') || 'null');
      } catch {
        payload = undefined;
      }
      const invocation: LambdaInvocation = {
        functionName,
        invocationType: req.headers['x-amz-invocation-type'] as string | undefined,
        headers: req.headers,
        payload,
        status: 0,
      };
      invocations.push(invocation);
      const answer = (status: number, type?: string, message?: string) => {
        invocation.status = status;
        res.writeHead(status, {
          'content-type': 'application/json',
          'x-amzn-requestid': randomUUID(),
          ...(type === undefined ? {} : { 'x-amzn-errortype': type }),
        });
        res.end(type === undefined ? '' : JSON.stringify({ Type: 'User', message }));
      };
      const authorization = String(req.headers.authorization ?? '');
      const fault = faults[0];
      if (fault !== undefined) {
        fault.left -= 1;
        if (fault.left <= 0) faults.shift();
        answer(fault.status, fault.type, 'scripted failure');
      } else if (req.method !== 'POST' || match === null) {
        answer(404, 'UnknownOperationException', `no such operation ${req.method} ${req.url}`);
      } else if (
        !/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/lambda\/aws4_request/.test(authorization)
      ) {
        answer(403, 'InvalidSignatureException', 'the request is not signed for lambda');
      } else if (!options.functions.includes(functionName)) {
        answer(404, 'ResourceNotFoundException', `Function not found: ${functionName}`);
      } else if (body.byteLength > MAX_EVENT_BYTES) {
        answer(413, 'RequestEntityTooLargeException', 'the event is over 256 KB');
      } else if (invocation.invocationType !== 'Event') {
        answer(400, 'InvalidParameterValueException', 'this fake runs asynchronous invocations only');
      } else {
        answer(202);
        const run: Promise<void> = options
          .run(payload, functionName)
          .then(
            () => undefined,
            (error: unknown) => {
              runErrors.push(error);
            },
          )
          .finally(() => running.delete(run));
        running.add(run);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    runErrors,
    failInvokes: (fault) => {
      faults.push({ status: fault.status, type: fault.type, left: fault.times ?? 1 });
    },
    settled: async () => {
      while (running.size > 0) await Promise.all(running);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
