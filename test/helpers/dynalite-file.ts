import { afterAll, beforeAll } from 'vitest';
import { type LocalDynamo, startDynalite } from './dynalite.js';

/**
 * One dynalite for a test file: started before its first test, closed after its last. The accessor
 * answers the running one (tests share its table and keep apart by drain id).
 */
export const dynaliteForFile = (): (() => LocalDynamo) => {
  let dynamo: LocalDynamo | undefined;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  return () => {
    if (dynamo === undefined) throw new Error('dynalite is not running: use it inside a test or hook');
    return dynamo;
  };
};
