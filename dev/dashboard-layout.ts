// The CloudWatch dashboard's layout as a picture, drawn from the packaged CloudFormation template (no AWS
// here to render the real one): one box per widget where the dashboard body places it on CloudWatch's
// 24-column grid, with what each widget shows. `npm run dashboard:picture` (dev/dashboard-picture.ts) turns
// the page into docs/dashboard.png; test/dashboard-layout.test.ts checks the model against the template.

/** CloudWatch's grid: 24 columns, widgets placed and sized in whole units (dashboard body structure). */
export const GRID_COLUMNS = 24;
/** Defaults of the dashboard body structure for a widget that gives no width or height. */
const DEFAULT_SIZE = 6;
/**
 * The console stretches the columns with the window and keeps a row's height fixed. How tall a row is, the
 * body structure does not say: this is an estimate (a 12×6 widget on the PAGE_WIDTH_PX page comes out 2.5
 * times as wide as tall). It stretches the boxes' heights alone; which box is where stays the body's.
 */
const ROW_HEIGHT_PX = 40;
/** The page's width: the picture's, and the viewport the script renders it in. */
export const PAGE_WIDTH_PX = 1200;
/** CloudWatch draws metrics without a stat of their own with this one. */
const DEFAULT_STAT = 'Average';

/** One line of a metric widget: its label, the metric (or the math expression naming none) and its stat. */
export interface DashboardMetric {
  readonly label: string;
  readonly metric: string;
  readonly stat: string | undefined;
  readonly rightAxis: boolean;
}

/** One widget where the dashboard places it, in grid units. */
export interface DashboardWidget {
  readonly type: string;
  readonly title: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** `timeSeries`, `singleValue`, …, and the period in seconds, where the widget says. */
  readonly view: string | undefined;
  readonly periodSeconds: number | undefined;
  readonly metrics: readonly DashboardMetric[];
  /** An alarm widget's alarms, by the logical ids of the template's alarm resources. */
  readonly alarms: readonly string[];
}

export interface DashboardLayout {
  readonly name: string;
  readonly widgets: readonly DashboardWidget[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What a `${name}` of the body stands for, readably: a plain string as it is, else the logical id of the
 * resource its value comes from (`!GetAtt SpoolQueue.QueueName` → `SpoolQueue`, an alarm's ARN → the
 * alarm's id), else its own name (`AWS::Region`), as text that can stand inside a JSON string.
 */
const readableName = (name: string, value: unknown): string => {
  const text = JSON.stringify(value ?? null);
  const readable =
    typeof value === 'string'
      ? value
      : (/"Fn::GetAtt":\[?"(\w+)/.exec(text)?.[1] ?? /"Ref":"(\w+)"/.exec(text)?.[1] ?? name);
  return JSON.stringify(readable).slice(1, -1);
};

/**
 * The dashboard body of the template's one `AWS::CloudWatch::Dashboard` as JSON text, every `${…}` of its
 * `Fn::Sub` replaced by a readable name (`${!x}` is Fn::Sub's escape for a literal `${x}`), and its name.
 * Throws when the template holds no dashboard, or more than one, or a body that is not a string or Fn::Sub.
 */
export const toDashboardBody = (template: unknown): { name: string; body: string } => {
  const resources = isObject(template) && isObject(template.Resources) ? template.Resources : {};
  const dashboards = Object.entries(resources).filter(
    ([, resource]) => isObject(resource) && resource.Type === 'AWS::CloudWatch::Dashboard',
  );
  const [entry, ...others] = dashboards;
  if (entry === undefined || others.length > 0) {
    throw new Error(`the template must hold one AWS::CloudWatch::Dashboard, not ${dashboards.length}`);
  }
  const [id, resource] = entry as [string, Json];
  const properties = isObject(resource.Properties) ? resource.Properties : {};
  const name = typeof properties.DashboardName === 'string' ? properties.DashboardName : id;
  const source = properties.DashboardBody;
  const sub = isObject(source) ? source['Fn::Sub'] : source;
  const [text, names] = Array.isArray(sub) ? sub : [sub, {}];
  if (typeof text !== 'string') throw new Error(`${id}: DashboardBody is neither a string nor an Fn::Sub`);
  const values: Json = isObject(names) ? names : {};
  const body = text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, placeholder: string) =>
    literal === '!' ? `\${${placeholder}}` : readableName(placeholder, values[placeholder]),
  );
  return { name, body };
};

/** `SEARCH('… MetricName="X" …', 'Stat', period)`: the metric it searches for and the stat it draws. */
const fromExpression = (expression: string): { metric: string; stat: string | undefined } => ({
  metric: /MetricName="([^"]+)"/.exec(expression)?.[1] ?? expression,
  stat: /SEARCH\(\s*'(?:[^'\\]|\\.)*'\s*,\s*'([^']+)'/.exec(expression)?.[1],
});

/**
 * A widget's `metrics` rows: `[{expression, label, …}]` (metric math, SEARCH) or the classic
 * `[namespace, metricName, dimension, value, …, {options}]`, where `"."` repeats the row above's item.
 */
const toMetrics = (rows: unknown, widgetStat: unknown): DashboardMetric[] => {
  let previous: readonly unknown[] = [];
  return (Array.isArray(rows) ? rows : []).map((row: unknown) => {
    const items = Array.isArray(row) ? row : [];
    const last = items.at(-1);
    const options = isObject(last) ? last : {};
    const names = (isObject(last) ? items.slice(0, -1) : items).map((item, at) =>
      item === '.' ? previous[at] : item,
    );
    previous = names;
    const classic = names.length >= 2 ? String(names[1]) : undefined;
    const { metric, stat } =
      typeof options.expression === 'string'
        ? fromExpression(options.expression)
        : { metric: classic ?? '(no metric)', stat: String(options.stat ?? widgetStat ?? DEFAULT_STAT) };
    const label = options.label ?? options.id ?? metric;
    return { label: String(label), metric, stat, rightAxis: options.yAxis === 'right' };
  });
};

const gridUnits = (widget: Json, key: string, fallback: number | undefined, at: number): number => {
  const value = widget[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    // CloudWatch would place a widget without x and y at the next free spot; a picture of a guess would
    // not be the layout, so the body must place every widget.
    throw new Error(`dashboard widget ${at}: "${key}" must be a whole number of grid units`);
  }
  return value;
};

const titleOf = (type: string, properties: Json): string => {
  if (typeof properties.title === 'string') return properties.title;
  if (type === 'text' && typeof properties.markdown === 'string') {
    return properties.markdown.split('\n')[0]?.replace(/^#+\s*/, '') ?? '';
  }
  return '(untitled)';
};

/** The dashboard's widgets as placed by the packaged template. Throws as `toDashboardBody`, or on a widget without a place. */
export const toDashboardLayout = (template: unknown): DashboardLayout => {
  const { name, body } = toDashboardBody(template);
  const parsed: unknown = JSON.parse(body);
  const widgets = isObject(parsed) && Array.isArray(parsed.widgets) ? parsed.widgets : [];
  return {
    name,
    widgets: widgets.map((widget: unknown, at): DashboardWidget => {
      const item = isObject(widget) ? widget : {};
      const type = String(item.type);
      const properties = isObject(item.properties) ? item.properties : {};
      return {
        type,
        title: titleOf(type, properties),
        x: gridUnits(item, 'x', undefined, at),
        y: gridUnits(item, 'y', undefined, at),
        width: gridUnits(item, 'width', DEFAULT_SIZE, at),
        height: gridUnits(item, 'height', DEFAULT_SIZE, at),
        view: typeof properties.view === 'string' ? properties.view : undefined,
        periodSeconds: typeof properties.period === 'number' ? properties.period : undefined,
        metrics: toMetrics(properties.metrics, properties.stat),
        alarms: Array.isArray(properties.alarms) ? properties.alarms.map(String) : [],
      };
    }),
  };
};

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );

const STYLE = `
  body { margin: 0; width: ${PAGE_WIDTH_PX}px; font: 13px/1.35 sans-serif; color: #111; background: #fff; }
  header { padding: 10px 12px 6px; }
  h1 { font-size: 17px; margin: 0; }
  header p { margin: 2px 0 0; color: #555; }
  .grid { display: grid; grid-template-columns: repeat(${GRID_COLUMNS}, minmax(0, 1fr));
    grid-auto-rows: ${ROW_HEIGHT_PX}px; padding: 0 6px 6px;
    background: repeating-linear-gradient(to right, #eee 0 1px, transparent 1px calc(100% / ${GRID_COLUMNS})) content-box; }
  .widget { margin: 4px; padding: 8px 10px; border: 1px solid #ccc; border-radius: 6px; background: #fff;
    overflow: hidden; }
  h2 { font-size: 14px; margin: 0 0 2px; }
  .kind { margin: 0 0 6px; color: #555; font-size: 12px; }
  ul { margin: 0; padding-left: 18px; }
  .alarms { columns: 4; }
  code { font: 12px ui-monospace, monospace; background: #eee; padding: 0 3px; border-radius: 3px; }
`;

const metricItem = (metric: DashboardMetric): string =>
  `<li><b>${escapeHtml(metric.label)}</b>: <code>${escapeHtml(metric.metric)}</code>` +
  `${metric.stat === undefined ? '' : `, ${escapeHtml(metric.stat)}`}${metric.rightAxis ? ' (right axis)' : ''}</li>`;

const widgetBox = (widget: DashboardWidget, at: number): string => {
  const kind = [
    widget.type,
    widget.view,
    widget.periodSeconds === undefined ? undefined : `${widget.periodSeconds} s`,
    `x ${widget.x}, y ${widget.y}, ${widget.width}×${widget.height}`,
  ].filter((part) => part !== undefined);
  const items = [
    ...widget.metrics.map(metricItem),
    ...widget.alarms.map((alarm) => `<li>${escapeHtml(alarm)}</li>`),
  ];
  return [
    `<section class="widget" data-widget="${at}" style="grid-column: ${widget.x + 1} / span ${widget.width}; grid-row: ${widget.y + 1} / span ${widget.height}">`,
    `<h2>${escapeHtml(widget.title)}</h2>`,
    `<p class="kind">${escapeHtml(kind.join(' · '))}</p>`,
    items.length === 0
      ? ''
      : `<ul${widget.alarms.length > 0 ? ' class="alarms"' : ''}>${items.join('')}</ul>`,
    '</section>',
  ].join('');
};

/** The layout as one static HTML page (no script), every text from the template escaped. */
export const toDashboardHtml = (layout: DashboardLayout): string =>
  [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(layout.name)}: dashboard layout</title><style>${STYLE}</style></head><body>`,
    `<header><h1>${escapeHtml(layout.name)}</h1><p>The CloudWatch dashboard's layout on its ${GRID_COLUMNS}-column grid, ` +
      'drawn from the packaged CloudFormation template (not a screenshot of CloudWatch)</p></header>',
    `<main class="grid">${layout.widgets.map(widgetBox).join('')}</main>`,
    '</body></html>',
  ].join('\n');
