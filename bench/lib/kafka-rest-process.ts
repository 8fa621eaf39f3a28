import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KafkaRestServerOptions } from '../../dev/kafka-rest/types.js';

export type KafkaRestChildCommand =
  | { readonly id: number; readonly op: 'reset'; readonly topic: string; readonly partitions: number }
  | {
      readonly id: number;
      readonly op: 'append';
      readonly topic: string;
      readonly partition: number;
      readonly count: number;
      readonly valueBytes: number;
    };

export type KafkaRestChildReply =
  | { readonly id: number; readonly ok: true; readonly url?: string }
  | { readonly id: number; readonly ok: false; readonly error: string };

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface KafkaRestProcess {
  readonly url: string;
  /** Deletes and re-creates a topic: empties the server's memory between rounds (not timed). */
  reset(topic: string, partitions: number): Promise<void>;
  /** Writes `count` records of `valueBytes` directly into a partition (setup for reads, not timed). */
  append(topic: string, partition: number, count: number, valueBytes: number): Promise<void>;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./kafka-rest-child.ts', import.meta.url));

/**
 * Starts the local Kafka REST v1 server (`dev/kafka-rest`) in a child process, without request recording.
 * Throws when the child cannot start.
 */
export const startKafkaRestProcess = async (options: KafkaRestServerOptions): Promise<KafkaRestProcess> => {
  const child: ChildProcess = fork(CHILD, [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<
    number,
    { resolve: (reply: KafkaRestChildReply) => void; reject: (e: Error) => void }
  >();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    for (const { reject } of waiting.values())
      reject(new Error(`the Kafka REST server process exited (${code})`));
    waiting.clear();
  });
  child.on('message', (reply: KafkaRestChildReply) => {
    waiting.get(reply.id)?.resolve(reply);
    waiting.delete(reply.id);
  });
  const request = (id: number, command?: WithoutId<KafkaRestChildCommand>): Promise<KafkaRestChildReply> =>
    new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      if (command !== undefined) child.send({ ...command, id });
    });
  const call = async (
    command: WithoutId<KafkaRestChildCommand>,
  ): Promise<KafkaRestChildReply & { ok: true }> => {
    const reply = await request(nextId++, command);
    if (!reply.ok) throw new Error(`Kafka REST server process: ${reply.error}`);
    return reply;
  };

  const ready = await request(0);
  if (!ready.ok || ready.url === undefined) {
    child.kill();
    throw new Error(`the Kafka REST server process did not start: ${ready.ok ? 'no url' : ready.error}`);
  }
  const url = ready.url;
  return {
    url,
    reset: async (topic, partitions) => {
      await call({ op: 'reset', topic, partitions });
    },
    append: async (topic, partition, count, valueBytes) => {
      await call({ op: 'append', topic, partition, count, valueBytes });
    },
    close: async () => {
      if (child.exitCode === null && child.connected) child.disconnect();
      await exited;
    },
  };
};
