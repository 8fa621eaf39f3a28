/**
 * Child-process entry of `startKafkaRestProcess`: the local Kafka REST server on its own event loop and
 * core, so its CPU does not share the benchmark's loop. Same server for figure and baseline alike.
 * Options arrive as JSON in argv[2]; commands arrive over IPC.
 */
import { startKafkaRestServer } from '../../dev/kafka-rest/server.js';
import type { KafkaRestServerOptions } from '../../dev/kafka-rest/types.js';
import type { KafkaRestChildCommand, KafkaRestChildReply } from './kafka-rest-process.js';

const options = JSON.parse(process.argv[2] ?? '{}') as KafkaRestServerOptions;
const server = await startKafkaRestServer({ ...options, recordRequests: false });
const send = (reply: KafkaRestChildReply): void => {
  process.send?.(reply);
};

process.on('message', (command: KafkaRestChildCommand) => {
  try {
    if (command.op === 'reset') {
      server.deleteTopic(command.topic);
      server.createTopic(command.topic, command.partitions);
    } else if (command.op === 'append') {
      const value = Buffer.alloc(command.valueBytes, 0x61);
      for (let done = 0; done < command.count; done += 1_000) {
        const n = Math.min(1_000, command.count - done);
        server.append(
          command.topic,
          command.partition,
          Array.from({ length: n }, () => ({ value })),
        );
      }
    }
    send({ id: command.id, ok: true });
  } catch (error) {
    send({ id: command.id, ok: false, error: (error as Error).message });
  }
});
// The parent going away (crash or close) ends this process too: nothing is left listening.
process.on('disconnect', () => {
  server.close().finally(() => process.exit(0));
});
send({ id: 0, ok: true, url: server.url });
