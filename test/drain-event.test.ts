import { describe, expect, it } from 'vitest';
import { isAppError } from '../lib/core/errors.js';
import { parseDrainEvent } from '../lib/drain/event.js';

const DRAINS = [
  { id: 'orders-out', partitions: 'all' as const },
  { id: 'audit-out', partitions: [0, 2] },
];

describe('parseDrainEvent', () => {
  it.each([
    {
      name: 'the schedule event',
      event: { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
    },
    { name: 'an empty object', event: {} },
    { name: 'no input at all', event: undefined },
    { name: 'null', event: null },
  ])('reads $name as every drain', ({ event }) => {
    expect(parseDrainEvent(event, DRAINS)).toEqual({});
  });

  it.each([
    { name: 'one drain', event: { drainId: 'orders-out' }, request: { drainId: 'orders-out' } },
    {
      name: 'some partitions of an "all" drain, deduplicated and sorted',
      event: { drainId: 'orders-out', partitions: [7, 1, 7] },
      request: { drainId: 'orders-out', partitions: [1, 7] },
    },
    {
      name: 'configured partitions of a listed drain',
      event: { drainId: 'audit-out', partitions: [2] },
      request: { drainId: 'audit-out', partitions: [2] },
    },
  ])('reads $name', ({ event, request }) => {
    expect(parseDrainEvent(event, DRAINS)).toEqual(request);
  });

  it.each([
    { name: 'an unknown drain', event: { drainId: 'nope' }, message: 'no drain "nope" is configured' },
    { name: 'partitions without a drain', event: { partitions: [0] }, message: '"drainId"' },
    { name: 'a non-string drain id', event: { drainId: 3 }, message: '"drainId"' },
    {
      name: 'empty partitions',
      event: { drainId: 'orders-out', partitions: [] },
      message: 'non-empty array',
    },
    {
      name: 'negative partitions',
      event: { drainId: 'orders-out', partitions: [-1] },
      message: 'integers ≥ 0',
    },
    {
      name: 'partitions not a list',
      event: { drainId: 'orders-out', partitions: '1' },
      message: 'non-empty array',
    },
    {
      name: 'partitions outside the configured list',
      event: { drainId: 'audit-out', partitions: [1, 2, 3] },
      message: 'partitions 1, 3 are not configured for drain audit-out',
    },
  ])('rejects $name with ERR_PAYLOAD_INVALID', ({ event, message }) => {
    let caught: unknown;
    try {
      parseDrainEvent(event, DRAINS);
    } catch (error) {
      caught = error;
    }

    expect(isAppError(caught) && caught.code).toBe('ERR_PAYLOAD_INVALID');
    expect((caught as Error).message).toContain(message);
  });
});
