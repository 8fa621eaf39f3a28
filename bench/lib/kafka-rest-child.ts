/**
 * Child-process entry of `startKafkaRestProcess`: the local Kafka REST server on its own event loop and
 * core, so its CPU does not share the benchmark's loop. Same server for figure and baseline alike.
 * Options arrive as JSON in argv[2]; commands arrive over IPC.
 */
import { startKafkaRestServer } from '../../dev/kafka-rest/server.js';
import type { KafkaRestServerOptions } from '../../dev/kafka-rest/types.js';
import { serveParent } from './child-ipc.js';
import { cpuMsOfThisProcess } from './cpu.js';
import type { KafkaRestChildCommand } from './kafka-rest-process.js';

const options = JSON.parse(process.argv[2] ?? '{}') as KafkaRestServerOptions;
const server = await startKafkaRestServer({ ...options, recordRequests: options.recordRequests === true });

/** `GET /topics/{topic}/partitions/{p}/messages`: the route, whatever the topic and partition. */
const routeOf = (method: string, path: string): string =>
  `${method} ${path.replace(/\/topics\/[^/]+/, '/topics/{topic}').replace(/\/partitions\/\d+/, '/partitions/{p}')}`;

const handle = (command: KafkaRestChildCommand & { readonly id: number }): unknown => {
  if (command.op === 'reset') {
    server.deleteTopic(command.topic);
    server.createTopic(command.topic, command.partitions);
  } else if (command.op === 'append') {
    const value = Buffer.alloc(command.valueBytes, 0x61);
    const { keys } = command;
    for (let done = 0; done < command.count; done += 1_000) {
      const n = Math.min(1_000, command.count - done);
      server.append(
        command.topic,
        command.partition,
        Array.from({ length: n }, (_, i) =>
          keys === undefined ? { value } : { key: Buffer.from(`k${(done + i) % keys}`), value },
        ),
      );
    }
  } else if (command.op === 'take-request-counts') {
    const counts: Record<string, number> = {};
    for (const request of server.requests.splice(0)) {
      const route = routeOf(request.method, request.path);
      counts[route] = (counts[route] ?? 0) + 1;
    }
    return counts;
  } else if (command.op === 'cpu') {
    return cpuMsOfThisProcess();
  }
  return undefined;
};

serveParent(server.url, handle, () => server.close());
