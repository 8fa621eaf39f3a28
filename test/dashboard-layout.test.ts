import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../dev/chromium.js';
import {
  type DashboardWidget,
  GRID_COLUMNS,
  PAGE_WIDTH_PX,
  toDashboardHtml,
  toDashboardLayout,
} from '../dev/dashboard-layout.js';
import { packageTemplate } from '../dev/package-stack.js';
import { readmeDeployCommand } from '../dev/readme-deploy.js';

// The README's picture of the dashboard (npm run dashboard:picture) is drawn from the packaged template:
// these tests hold the drawing to what the template's dashboard body says, whatever widgets it holds.

const ROOT = join(import.meta.dirname, '..');

interface RawWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: {
    readonly title?: string;
    readonly metrics?: { readonly label?: string; readonly expression?: string }[][];
    readonly alarms?: string[];
  };
}

/** A template holding one dashboard whose Fn::Sub body is `widgets`, with `names` for its placeholders. */
const templateOf = (widgets: readonly unknown[], names: Record<string, unknown> = {}): unknown => ({
  Resources: {
    Board: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: 'board',
        DashboardBody: { 'Fn::Sub': [JSON.stringify({ widgets }), names] },
      },
    },
  },
});

const placed = (properties: Record<string, unknown>, type = 'metric') => ({
  type,
  x: 0,
  y: 0,
  width: 12,
  height: 6,
  properties,
});

/** The HTML of each box, by its widget's index, and the grid area its style gives it. */
const boxesOf = (html: string) =>
  [
    ...html.matchAll(
      /<section class="widget" data-widget="(\d+)" style="grid-column: (\d+) \/ span (\d+); grid-row: (\d+) \/ span (\d+)">(.*?)<\/section>/g,
    ),
  ].map(([, at, column, width, row, height, inner]) => ({
    at: Number(at),
    x: Number(column) - 1,
    y: Number(row) - 1,
    width: Number(width),
    height: Number(height),
    inner: inner as string,
  }));

const overlaps = (a: Pick<DashboardWidget, 'x' | 'y' | 'width' | 'height'>, b: typeof a): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

const escaped = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll("'", '&#39;');

describe('the dashboard layout drawn from the packaged template', () => {
  let template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  let raw: RawWidget[];
  let html: string;

  beforeAll(async () => {
    const deploy = readmeDeployCommand(ROOT);
    template = (await packageTemplate(ROOT, deploy.params, deploy)) as typeof template;
    // The body read on its own, as CloudFormation would parse it once the names are substituted.
    const sub = template.Resources.Dashboard?.Properties?.DashboardBody as { 'Fn::Sub': [string, unknown] };
    raw = (JSON.parse(sub['Fn::Sub'][0].replace(/\$\{[^}]+\}/g, 'x')) as { widgets: RawWidget[] }).widgets;
    html = toDashboardHtml(toDashboardLayout(template));
  }, 120_000);

  it('draws every widget once, where the body places it, with its title', () => {
    const boxes = boxesOf(html);

    expect(raw.length).toBeGreaterThan(0);
    expect(boxes.map((box) => box.at)).toEqual(raw.map((_, at) => at));
    for (const [at, widget] of raw.entries()) {
      const box = boxes[at];
      expect(box, `widget ${at}`).toMatchObject({
        x: widget.x,
        y: widget.y,
        width: widget.width,
        height: widget.height,
      });
      expect(box?.inner).toContain(`<h2>${escaped(widget.properties.title ?? '')}</h2>`);
      expect(box?.inner).toContain(widget.type);
    }
  });

  it('fits every widget in the 24 columns, and no two overlap', () => {
    const { widgets } = toDashboardLayout(template);

    for (const widget of widgets) {
      expect(widget.x, widget.title).toBeGreaterThanOrEqual(0);
      expect(widget.x + widget.width, widget.title).toBeLessThanOrEqual(GRID_COLUMNS);
    }
    const clashes = widgets.flatMap((a, i) =>
      widgets.slice(i + 1).flatMap((b) => (overlaps(a, b) ? [`${a.title} / ${b.title}`] : [])),
    );
    expect(clashes).toEqual([]);
  });

  it("lists each metric's label, its metric name and stat from the SEARCH, and each alarm by its resource", () => {
    const boxes = boxesOf(html);

    const rows = raw.flatMap((widget, at) => (widget.properties.metrics ?? []).map((row) => ({ at, row })));
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const { at, row } of rows) {
      const { label = '', expression = '' } = row[0] ?? {};
      const [, metric = '', stat = ''] = /MetricName="(\w+)".*', '(\w+)', \d+\)$/.exec(expression) ?? [];
      expect(metric, expression).not.toBe('');
      expect(boxes[at]?.inner).toContain(`<b>${escaped(label)}</b>: <code>${metric}</code>, ${stat}`);
    }
    const alarmWidgets = toDashboardLayout(template).widgets.filter((widget) => widget.type === 'alarm');
    const alarms = alarmWidgets.flatMap((widget) => widget.alarms);
    expect(alarms.length).toBe(raw.flatMap((widget) => widget.properties.alarms ?? []).length);
    // Each placeholder became the logical id of the alarm whose ARN it stands for.
    for (const alarm of alarms) expect(template.Resources[alarm]?.Type, alarm).toBe('AWS::CloudWatch::Alarm');
  });

  describe('in Chromium', () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await launchChromium();
    }, 30_000);

    afterAll(async () => {
      await browser?.close();
    });

    it('renders one box per widget, side by side as on the grid, none over another', async () => {
      const page = await browser.newPage({ viewport: { width: PAGE_WIDTH_PX, height: 600 } });
      await page.setContent(html);

      const grid = await page.locator('main.grid').boundingBox();
      const rects = await page.locator('section.widget').evaluateAll((boxes) =>
        boxes.map((box) => {
          const { left, top, right, bottom } = box.getBoundingClientRect();
          return { left, top, right, bottom };
        }),
      );

      expect(rects.length).toBe(raw.length);
      expect(grid).not.toBeNull();
      const column = (grid?.width ?? 0) / GRID_COLUMNS;
      for (const [at, rect] of rects.entries()) {
        const widget = raw[at] as RawWidget;
        // Each box starts in its own column and ends before the next widget's would start.
        expect(rect.left, `widget ${at}`).toBeGreaterThanOrEqual((grid?.x ?? 0) + widget.x * column);
        expect(rect.right, `widget ${at}`).toBeLessThanOrEqual(
          (grid?.x ?? 0) + (widget.x + widget.width) * column,
        );
      }
      const clashes = rects.flatMap((a, i) =>
        rects
          .slice(i + 1)
          .filter((b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom),
      );
      expect(clashes).toEqual([]);
    });
  });
});

describe('dashboard bodies the template may hold', () => {
  it('escapes every text of the body, so a title or label is never markup', () => {
    const layout = toDashboardLayout(
      templateOf([
        placed({
          title: '<img src=x onerror=alert(1)> & "more"',
          metrics: [[{ expression: "SEARCH('{N,d} MetricName=\"M\"', 'Sum', 60)", label: '<b>x</b>' }]],
        }),
      ]),
    );

    const html = toDashboardHtml(layout);

    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;more&quot;');
    expect(html).toContain('<b>&lt;b&gt;x&lt;/b&gt;</b>');
  });

  it.each([
    {
      name: 'a SEARCH: its MetricName and stat',
      row: [
        { expression: "SEARCH('{N,d} MetricName=\"Lag\"', 'Maximum', 300)", label: 'lag', yAxis: 'right' },
      ],
      metric: { label: 'lag', metric: 'Lag', stat: 'Maximum', rightAxis: true },
    },
    {
      name: 'metric math naming no metric: the expression itself, no stat',
      row: [{ expression: 'm1 + m2', id: 'sum' }],
      metric: { label: 'sum', metric: 'm1 + m2', stat: undefined, rightAxis: false },
    },
    {
      name: "a classic row: the metric's name, the widget's stat",
      row: ['AWS/SQS', 'NumberOfMessagesSent', 'QueueName', 'q'],
      metric: {
        label: 'NumberOfMessagesSent',
        metric: 'NumberOfMessagesSent',
        stat: 'p90',
        rightAxis: false,
      },
    },
    {
      name: 'a classic row with its own stat and label',
      row: ['AWS/SQS', 'NumberOfMessagesSent', { stat: 'Sum', label: 'sent' }],
      metric: { label: 'sent', metric: 'NumberOfMessagesSent', stat: 'Sum', rightAxis: false },
    },
  ])('reads a metric row: $name', ({ row, metric }) => {
    const [widget] = toDashboardLayout(templateOf([placed({ stat: 'p90', metrics: [row] })])).widgets;

    expect(widget?.metrics).toEqual([metric]);
  });

  it('repeats the row above\'s item where a classic row says "."', () => {
    const [widget] = toDashboardLayout(
      templateOf([
        placed({
          metrics: [
            ['AWS/Lambda', 'Errors', 'FunctionName', 'f'],
            ['.', 'Throttles', '.', '.'],
          ],
        }),
      ]),
    ).widgets;

    expect(widget?.metrics.map((metric) => [metric.metric, metric.stat])).toEqual([
      ['Errors', 'Average'],
      ['Throttles', 'Average'],
    ]);
  });

  it('names a placeholder by its string, or the resource its value comes from, and keeps an escaped literal', () => {
    const [widget] = toDashboardLayout(
      templateOf(
        [placed({ title: `\${!Literal} in \${AWS::Region}`, alarms: [`\${Alarm}`, `\${Plain}`] }, 'alarm')],
        { Alarm: { 'Fn::GetAtt': ['QueueDepthAlarm', 'Arn'] }, Plain: 'a "quoted" name' },
      ),
    ).widgets;

    expect(widget?.title).toBe(`\${Literal} in AWS::Region`);
    expect(widget?.alarms).toEqual(['QueueDepthAlarm', 'a "quoted" name']);
  });

  it("gives an unsized widget CloudWatch's 6×6 and refuses a widget without a place", () => {
    const sized = toDashboardLayout(
      templateOf([{ type: 'text', x: 3, y: 1, properties: { markdown: '# Notes\nmore' } }]),
    );

    expect(sized.widgets[0]).toMatchObject({ title: 'Notes', x: 3, y: 1, width: 6, height: 6 });
    expect(() => toDashboardLayout(templateOf([{ type: 'metric', y: 0, properties: {} }]))).toThrow(
      'dashboard widget 0: "x" must be a whole number of grid units',
    );
  });

  it('refuses a template without exactly one dashboard', () => {
    expect(() => toDashboardLayout({ Resources: {} })).toThrow(
      'the template must hold one AWS::CloudWatch::Dashboard, not 0',
    );
  });
});
