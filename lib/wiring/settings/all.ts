import { type CoreConfig, loadSections } from './core.js';
import { type DrainsConfig, parseDrainsConfig } from '../../drain/config.js';
import { type EventsConfig, parseEventsConfig, parseQueueConfig, type QueueConfig } from '../../ingest/config.js';
import { parseWebhookSection, type WebhookSection } from '../../ingest/webhook/config.js';
import type { Env } from './env.js';

/** Every function's settings at once. */
export interface Config extends CoreConfig, WebhookSection {
  readonly queue: QueueConfig;
  readonly events: EventsConfig;
  readonly drain: DrainsConfig;
}

/**
 * Every function's settings, validated together: for tools (the operator CLIs) and tests. A function loads
 * only its own sections (`loadWebhookConfig`, `loadQueueConfig`, …), so its bundle carries no other
 * function's parsers. Throws `ConfigError` (`ERR_CONFIG`) listing every problem at once.
 */
export const loadConfig = (env: Env): Config =>
  loadSections(env, (read, core) => ({
    ...parseWebhookSection(read, core),
    queue: parseQueueConfig(read),
    events: parseEventsConfig(read),
    drain: parseDrainsConfig(read),
  }));
