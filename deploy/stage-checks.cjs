// A Serverless Framework plugin of this project: a stage other than `local` must be configured on purpose.
// `serverless package` / `deploy` stop before anything is built when a required parameter is missing, a
// plaintext credential is set, a route accepts unsigned requests without the stage saying so, or a
// function is given a grant, a rule or a schedule it cannot use. Every problem is listed at once.
// It also leaves out the events rule and the drain schedule when nothing is configured for them, gives the
// webhook a Function URL when asked, and adds one stack output per webhook route with its full URL.

const LOCAL_STAGE = 'local';
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;
const QUEUE_ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):\d{12}:.+$/;
const BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):\d{12}:event-bus\/.+$/;

/** What each required parameter is, for the message that says it is missing. */
const REQUIRED = {
  kafkaRestUrl: 'the Kafka REST proxy base URL, https://…',
  kafkaRestSecretArn:
    'the ARN of the Secrets Manager secret holding the proxy API key (user:password for basic auth), in the deploy region',
};

const parseJson = (name, text, problems) => {
  try {
    return JSON.parse(text);
  } catch {
    problems.push(`${name} is not valid JSON`);
    return undefined;
  }
};

const isEmptyPattern = (pattern) =>
  pattern === undefined ||
  pattern === null ||
  pattern === '' ||
  (typeof pattern === 'object' && Object.keys(pattern).length === 0);

const isEmptyList = (text) => typeof text === 'string' && /^\s*\[\s*\]\s*$/.test(text);

/**
 * Problems of a stage's parameters, as sentences naming the parameter (never its value: a parameter may be
 * a credential). `params` are the resolved values of `custom.stageChecks`; `region` the deploy region.
 */
const checkStage = (params, region) => {
  const problems = [];
  for (const [name, meaning] of Object.entries(REQUIRED)) {
    if (name === 'kafkaRestSecretArn' && params.kafkaRestAuth === 'none') continue;
    if (params[name] === undefined || params[name] === '') {
      problems.push(`--param ${name}=… is required: ${meaning}`);
    }
  }
  if (params.kafkaRestUrl && !params.kafkaRestUrl.startsWith('https://') && params.allowHttp !== 'true') {
    problems.push(
      'kafkaRestUrl must be https:// (plain http only with kafkaRestAllowHttp=true, never for a real proxy)',
    );
  }
  if (params.kafkaRestApiKey) {
    problems.push(
      'kafkaRestApiKey (a plaintext API key) is for the local stage only: store the key in Secrets Manager and set kafkaRestSecretArn',
    );
  }
  const arns = [
    ['kafkaRestSecretArn', SECRET_ARN],
    ['webhookSigningSecretArn', SECRET_ARN],
    ['drainSigningSecretArn', SECRET_ARN],
    ['drainSinkQueueArn', QUEUE_ARN],
    ['drainSinkEventBusArn', BUS_ARN],
  ];
  for (const [name, pattern] of arns) {
    const value = params[name];
    if (!value) continue;
    // A trailing * (any secret of a prefix) is allowed for the signing secrets.
    const match = pattern.exec(value.replace(/\*$/, 'x'));
    if (match === null) problems.push(`${name} is not an ARN of the expected service`);
    else if (match[1] !== region) {
      problems.push(
        `${name} is in region ${match[1]} but the stack deploys to ${region}: pass --region ${match[1]}, or use a resource in ${region}`,
      );
    }
  }

  const routes = parseJson('webhookRoutes', params.webhookRoutes || '{}', problems) ?? {};
  let routesNeedSecret = false;
  for (const [name, route] of Object.entries(routes)) {
    const verify = route?.verify ?? {};
    if (verify.scheme === 'none' && params.allowUnsignedRoutes !== 'true') {
      problems.push(
        `route "${name}" accepts unsigned requests: give it a verify scheme, or pass --param allowUnsignedRoutes=true to accept that on this stage`,
      );
    }
    if (verify.secret !== undefined) {
      problems.push(
        `route "${name}" has an inline "secret" (plaintext): use "secretId" (Secrets Manager) outside the local stage`,
      );
    }
    if (verify.secretId !== undefined) routesNeedSecret = true;
    // GitHub signs no timestamp: without idempotency a captured delivery can be replayed forever.
    if (verify.scheme === 'github' && route.idempotency === undefined) {
      problems.push(
        `route "${name}" verifies GitHub signatures without "idempotency": add {"header":"x-github-delivery"} so a captured delivery cannot be replayed`,
      );
    }
  }
  if (routesNeedSecret && !params.webhookSigningSecretArn) {
    problems.push(
      'a route verifies with a "secretId": set webhookSigningSecretArn (the ARN, or an ARN prefix ending in *) so the webhook may read it',
    );
  }

  const drains = parseJson('drains', params.drains || '[]', problems) ?? [];
  const sinks = Array.isArray(drains) ? drains.map((drain) => drain?.sink ?? {}) : [];
  const need = (condition, name, why) => {
    if (condition && !params[name]) problems.push(`${why}: set ${name}`);
  };
  need(
    sinks.some((sink) => sink.type === 'sqs'),
    'drainSinkQueueArn',
    'a drain delivers to SQS',
  );
  need(
    sinks.some((sink) => sink.type === 'eventbridge'),
    'drainSinkEventBusArn',
    'a drain delivers to EventBridge',
  );
  need(
    sinks.some((sink) => sink.signingSecretId !== undefined),
    'drainSigningSecretArn',
    'an HTTP sink signs its requests',
  );
  for (const sink of sinks) {
    if (sink.type === 'http' && typeof sink.url === 'string' && !sink.url.startsWith('https://')) {
      problems.push('an HTTP sink url is not https:// (plain http is for the local stage)');
    }
  }

  // A spooled body must outlive every message that can name it: the spool queue's retention, then up to
  // 14 days in the spool DLQ (a FIFO message's age restarts there). Gone sooner, the backfill would take
  // the missing object for an already produced record.
  const retentionSeconds = Number(params.spoolRetentionSeconds ?? 1209600);
  const objectDays = Number(params.spoolObjectDays ?? 29);
  const neededDays = Math.ceil((retentionSeconds + 1209600) / 86400) + 1;
  if (!Number.isInteger(objectDays) || objectDays < neededDays) {
    problems.push(
      `spoolObjectDays must be at least ${neededDays}: the spool retention (spoolRetentionSeconds) plus the spool DLQ's 14 days and one`,
    );
  }
  return problems;
};

const outputId = (route, taken) => {
  const base = `WebhookUrl${route.replace(/[^A-Za-z0-9]/g, '')}`;
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}${n}`;
  taken.add(id);
  return id;
};

class StageChecks {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:initialize': () => this.checkAndTrim(),
      'before:package:finalize': () => this.addRouteOutputs(),
    };
  }

  get stage() {
    return this.serverless.service.provider.stage;
  }

  get params() {
    return this.serverless.service.custom.stageChecks ?? {};
  }

  checkAndTrim() {
    const { service } = this.serverless;
    if (this.stage !== LOCAL_STAGE) {
      const problems = checkStage(this.params, service.provider.region);
      if (problems.length > 0) {
        throw new this.serverless.classes.Error(
          `Stage "${this.stage}" is not ready to package or deploy (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}\nSee the README, "Deploy".`,
        );
      }
    }
    if (this.params.webhookFunctionUrl === 'true' && service.functions.webhook)
      service.functions.webhook.url = true;
    // A function with nothing to do gets no trigger: no rule matching every event, no idle schedule.
    const events = service.functions.events;
    if (events && isEmptyPattern(this.params.eventsPattern)) {
      events.events = (events.events ?? []).filter((event) => event.eventBridge === undefined);
    }
    const drain = service.functions.drain;
    if (drain && isEmptyList(this.params.drains)) {
      drain.events = (drain.events ?? []).filter((event) => event.schedule === undefined);
    }
  }

  addRouteOutputs() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    if (template.Resources.HttpApi === undefined) return;
    const routes = JSON.parse(this.params.webhookRoutes || '{}');
    const taken = new Set(Object.keys(template.Outputs ?? {}));
    template.Outputs = template.Outputs ?? {};
    for (const route of Object.keys(routes)) {
      template.Outputs[outputId(route, taken)] = {
        Description: `POST here: webhook route "${route}"`,
        Value: {
          'Fn::Sub': `https://\${HttpApi}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/hooks/${route}`,
        },
      };
    }
  }
}

module.exports = StageChecks;
module.exports.checkStage = checkStage;
