/**
 * The parts of the seed API's published Node clients that the peer benchmark calls (they ship no types).
 * Both speak Kafka REST v1 over `node:http` with the global agent.
 */
declare module 'kafka-rest' {
  interface KafkaRestConfig {
    readonly url: string;
    readonly version?: 1;
    readonly headers?: Readonly<Record<string, string>>;
  }
  interface ProduceAnswer {
    readonly offsets: readonly { partition: number; offset: number; error_code: number | null }[];
  }
  class KafkaRest {
    constructor(config: KafkaRestConfig);
    topic(name: string): {
      produce(records: readonly Buffer[], done: (error: Error | null, answer?: ProduceAnswer) => void): void;
    };
  }
  export = KafkaRest;
}

declare module 'message-hub-rest' {
  interface Services {
    readonly [name: string]: readonly {
      readonly label: string;
      readonly credentials: { readonly api_key: string; readonly kafka_rest_url: string };
    }[];
  }
  interface ProduceAnswer {
    readonly offsets: readonly { partition: number; offset: number; error_code: number | null }[];
  }
  class MessageList {
    constructor(init?: readonly Buffer[]);
  }
  class MessageHub {
    constructor(services: Services, options?: { readonly https: boolean });
    static MessageList: typeof MessageList;
    produce(topic: string, message: MessageList): Promise<ProduceAnswer>;
  }
  export = MessageHub;
}
