import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Fixed fake credentials: the local endpoint checks nothing, the SDK only needs something to sign with. */
export const TEST_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
} as const;

export interface SecretsManagerRequest {
  readonly target: string;
  readonly secretId: string | undefined;
}

export interface LocalSecretsManager {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint`. */
  readonly endpoint: string;
  /** Every request received, in order. */
  readonly requests: SecretsManagerRequest[];
  /** Sets (or rotates) a secret's string; each call makes a new version. */
  setSecret(secretId: string, value: string): void;
  deleteSecret(secretId: string): void;
  /** Answers the next `times` requests with this error type and HTTP status (e.g. throttling). */
  failNext(type: string, status: number, times?: number): void;
  /** Answers the next `times` requests with 200 and its headers, then one byte per `intervalMs`, never finished. */
  trickleNext(intervalMs: number, times?: number): void;
  /** A real SDK client pointed at this endpoint, with fake credentials. Closed by `close()`. */
  client(): SecretsManagerClient;
  close(): Promise<void>;
}

/**
 * A local Secrets Manager endpoint speaking the AWS JSON 1.1 protocol for `GetSecretValue`, the one call
 * the bridge makes. Secrets Manager cannot run here, so it is faked at the HTTP boundary: the real SDK
 * client signs, sends and parses exactly as it would against AWS.
 */
export const startSecretsManager = async (
  initial: Readonly<Record<string, string>> = {},
): Promise<LocalSecretsManager> => {
  const secrets = new Map<string, { value: string; version: number }>();
  for (const [id, value] of Object.entries(initial)) secrets.set(id, { value, version: 1 });
  const requests: SecretsManagerRequest[] = [];
  const failures: { type: string; status: number }[] = [];
  const trickles: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const clients: SecretsManagerClient[] = [];

  const reply = (res: ServerResponse, status: number, body: Record<string, unknown>): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const target = String(req.headers['x-amz-target'] ?? '');
    let secretId: string | undefined;
    try {
      secretId = (JSON.parse(raw) as { SecretId?: string }).SecretId;
    } catch {
      secretId = undefined;
    }
    requests.push({ target, secretId });
    const trickle = trickles.shift();
    if (trickle !== undefined) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.write('{');
      const timer = setInterval(() => res.write(' '), trickle);
      timers.add(timer);
      res.once('close', () => {
        clearInterval(timer);
        timers.delete(timer);
      });
      return;
    }
    const failure = failures.shift();
    if (failure !== undefined) {
      reply(res, failure.status, { __type: failure.type, message: `injected ${failure.type}` });
      return;
    }
    if (target !== 'secretsmanager.GetSecretValue') {
      reply(res, 400, { __type: 'UnknownOperationException', message: `unsupported target ${target}` });
      return;
    }
    const secret = secretId === undefined ? undefined : secrets.get(secretId);
    if (secretId === undefined || secret === undefined) {
      reply(res, 400, {
        __type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      });
      return;
    }
    reply(res, 200, {
      ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`,
      Name: secretId,
      SecretString: secret.value,
      VersionId: `00000000-0000-0000-0000-${String(secret.version).padStart(12, '0')}`,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1_700_000_000,
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    setSecret: (secretId, value) => {
      secrets.set(secretId, { value, version: (secrets.get(secretId)?.version ?? 0) + 1 });
    },
    deleteSecret: (secretId) => {
      secrets.delete(secretId);
    },
    failNext: (type, status, times = 1) => {
      for (let i = 0; i < times; i++) failures.push({ type, status });
    },
    trickleNext: (intervalMs, times = 1) => {
      for (let i = 0; i < times; i++) trickles.push(intervalMs);
    },
    client: () => {
      const client = new SecretsManagerClient({ endpoint, ...TEST_AWS, maxAttempts: 1 });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) client.destroy();
      for (const timer of timers) clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
