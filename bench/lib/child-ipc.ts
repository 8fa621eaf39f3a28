import { type ChildProcess, fork } from 'node:child_process';

/**
 * A local server in a child process of its own, driven over IPC: its CPU does not share the benchmark's
 * event loop, and the figures and baselines measured against it pay the same hop. The child answers every
 * command `{id, …}` with `{id, ok, value | error}`; id 0 is its "ready" message.
 */
export type ChildReply<T> =
  | { readonly id: number; readonly ok: true; readonly value: T }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface ChildServer<Command, Ready> {
  /** What the child sent once it was listening (its URL, typically). */
  readonly ready: Ready;
  /** Sends a command and waits for its answer; rejects with the child's error. */
  call<T>(command: Command): Promise<T>;
  /** Disconnects, which ends the child, and waits for it to exit. */
  close(): Promise<void>;
}

/** Forks `file` (a TypeScript module, through tsx) with `args`. Throws when the child cannot start. */
export const forkChildServer = async <Command extends object, Ready>(
  file: string,
  args: readonly string[],
  name: string,
): Promise<ChildServer<Command, Ready>> => {
  const child: ChildProcess = fork(file, [...args], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<
    number,
    { resolve: (reply: ChildReply<unknown>) => void; reject: (e: Error) => void }
  >();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    for (const { reject } of waiting.values()) reject(new Error(`the ${name} process exited (${code})`));
    waiting.clear();
  });
  child.on('message', (reply: ChildReply<unknown>) => {
    waiting.get(reply.id)?.resolve(reply);
    waiting.delete(reply.id);
  });
  const request = (id: number, command?: Command): Promise<ChildReply<unknown>> =>
    new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      if (command !== undefined) child.send({ ...command, id });
    });

  const ready = await request(0);
  if (!ready.ok) {
    child.kill();
    throw new Error(`the ${name} process did not start: ${ready.error}`);
  }
  return {
    ready: ready.value as Ready,
    call: async <T>(command: Command): Promise<T> => {
      const reply = await request(nextId++, command);
      if (!reply.ok) throw new Error(`${name} process: ${reply.error}`);
      return reply.value as T;
    },
    close: async () => {
      if (child.exitCode === null && child.connected) child.disconnect();
      await exited;
    },
  };
};

/**
 * The child's side: answers each command with what `handle` returns (or its error), says `ready` once,
 * and runs `close` then exits when the parent goes away (crash or close), so nothing is left listening.
 */
export const serveParent = <Command extends { readonly id: number }>(
  ready: unknown,
  handle: (command: Command) => unknown,
  close: () => Promise<void>,
): void => {
  const send = (reply: ChildReply<unknown>): void => {
    process.send?.(reply);
  };
  process.on('message', (command: Command) => {
    Promise.resolve()
      .then(() => handle(command))
      .then(
        (value) => send({ id: command.id, ok: true, value }),
        (error: unknown) => send({ id: command.id, ok: false, error: (error as Error).message }),
      );
  });
  process.on('disconnect', () => {
    close().finally(() => process.exit(0));
  });
  send({ id: 0, ok: true, value: ready });
};
