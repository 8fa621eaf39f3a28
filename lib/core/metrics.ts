import { Metrics } from '@aws-lambda-powertools/metrics';
import { SERVICE_NAME } from './log.js';

/** Every metric of the bridge lives here; alarms in serverless.yml name it. */
export const METRICS_NAMESPACE = 'KafkaRestBridge';

/**
 * Powertools' EMF writer with the bridge's namespace and `service` default dimension. One per container
 * (built with the deps): it buffers until `publishStoredMetrics()`.
 */
export const createPowertoolsMetrics = (namespace = METRICS_NAMESPACE): Metrics =>
  new Metrics({ namespace, serviceName: SERVICE_NAME });
