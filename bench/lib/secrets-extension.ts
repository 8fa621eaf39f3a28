import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stand-in received. `tokenMatched` only: the token itself is a credential, never kept. */
export interface ExtensionRequest {
  readonly method: string;
  readonly path: string;
  readonly secretId: string | null;
  readonly tokenMatched: boolean;
}

export interface ExtensionReplyOverride {
  readonly status: number;
  readonly body: string;
  /** Hold the answer this long first (timeouts). */
  readonly delayMs?: number;
}

export interface LocalSecretsExtension {
  readonly port: number;
  /** The address it listens on (`localhost` resolves to it). */
  readonly host: string;
  readonly requests: ExtensionRequest[];
  /** Sets the string the extension answers for `secretId` (its cache, which may lag behind a rotation). */
  setSecret(secretId: string, value: string): void;
  /** Answers `SecretBinary` (base64) instead of `SecretString` for this secret. */
  setBinarySecret(secretId: string, value: Buffer): void;
  /** Answers the next request with this, whatever it asks. */
  replyNext(override: ExtensionReplyOverride): void;
  close(): Promise<void>;
}

/**
 * A local stand-in for the AWS Parameters and Secrets Lambda Extension (it only runs inside Lambda): the
 * `GET /secretsmanager/get?secretId=` endpoint, answering `GetSecretValue`'s JSON when the
 * `X-Aws-Parameters-Secrets-Token` header carries the expected session token, 401 otherwise, 400 for an
 * unknown secret. Used by the benchmarks' cold starts and by `test/secrets-extension.test.ts`.
 */
export const startSecretsExtension = async (options: {
  readonly sessionToken: string;
  readonly secrets?: Readonly<Record<string, string>>;
  /** Default `localhost`, where the real extension listens. */
  readonly host?: string;
}): Promise<LocalSecretsExtension> => {
  const secrets = new Map<string, { string?: string; binary?: Buffer }>();
  for (const [id, value] of Object.entries(options.secrets ?? {})) secrets.set(id, { string: value });
  const requests: ExtensionRequest[] = [];
  const overrides: ExtensionReplyOverride[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (res: ServerResponse, status: number, body: string, contentType: string): void => {
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const tokenMatched = req.headers['x-aws-parameters-secrets-token'] === options.sessionToken;
    const secretId = url.searchParams.get('secretId');
    requests.push({ method: req.method ?? '', path: url.pathname, secretId, tokenMatched });
    const override = overrides.shift();
    if (override !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(res, override.status, override.body, 'text/plain');
      }, override.delayMs ?? 0);
      timers.add(timer);
      return;
    }
    if (!tokenMatched) {
      answer(res, 401, 'Unauthorized: invalid or missing token', 'text/plain');
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/secretsmanager/get') {
      answer(res, 404, 'Not Found', 'text/plain');
      return;
    }
    const secret = secretId === null ? undefined : secrets.get(secretId);
    if (secretId === null || secret === undefined) {
      answer(
        res,
        400,
        "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        'text/plain',
      );
      return;
    }
    const value =
      secret.binary === undefined
        ? { SecretString: secret.string }
        : { SecretBinary: secret.binary.toString('base64') };
    answer(
      res,
      200,
      JSON.stringify({
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`,
        Name: secretId,
        ...value,
        VersionId: '00000000-0000-0000-0000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: '2026-01-01T00:00:00.000Z',
      }),
      'application/json',
    );
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? 'localhost', () => resolve());
  });
  const address = server.address() as AddressInfo;

  return {
    port: address.port,
    host: address.address,
    requests,
    setSecret: (secretId, value) => {
      secrets.set(secretId, { string: value });
    },
    setBinarySecret: (secretId, value) => {
      secrets.set(secretId, { binary: value });
    },
    replyNext: (override) => {
      overrides.push(override);
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
