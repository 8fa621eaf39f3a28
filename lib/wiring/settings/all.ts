import type { DrainsConfig } from '../../drain/config.js';
import type { EventsConfig, QueueConfig } from '../../ingest/config.js';
import { type CoreConfig, loadSections } from './core.js';
import { parseDrainsConfig } from './drain.js';
import type { Env } from './env.js';
import { parseEventsConfig } from './events.js';
import { parseQueueConfig } from './queue.js';
import { parseWebhookSection, type WebhookSection } from './webhook.js';

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
