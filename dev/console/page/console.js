// The console page: plain DOM, no framework, no build step. Every value from the server (record keys and
// values are whatever a webhook sender posted) is put on the page with textContent, never as markup.

// Polling, not server-sent events: neither the Kafka REST API nor DynamoDB pushes changes, so the server
// would poll them for a stream anyway; a fetch a second keeps the server stateless and recovers by itself
// when `npm start` restarts.
const REFRESH_MS = 1000;

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
};

const show = (bytes) => (bytes === null ? 'null' : `${bytes.text}${bytes.truncated ? ' …' : ''}`);

const recordItem = (record) =>
  el(
    'li',
    { dataset: { offset: String(record.offset) } },
    el('span', { class: 'tag', text: `@${record.offset}` }),
    record.key === null ? '' : el('span', { class: 'muted', text: `key ${show(record.key)} ` }),
    el('span', { class: 'tag', text: record.value?.encoding ?? 'null' }),
    el('span', { class: 'value', text: show(record.value) }),
  );

const renderTopics = (topics) => {
  const root = document.getElementById('topics');
  const blocks = topics.map((topic) => {
    if (topic.error !== undefined)
      return el('div', {}, el('h3', { text: topic.name }), el('p', { class: 'bad', text: topic.error }));
    const rows = topic.partitions.map((p) =>
      el(
        'tr',
        { dataset: { partition: `${topic.name}/${p.partition}` } },
        el('td', { class: 'num', text: String(p.partition) }),
        el('td', { class: 'num', text: String(p.start) }),
        el('td', { class: 'num log-end', text: String(p.end) }),
        el('td', {}, el('ol', { class: 'records' }, ...p.latest.map(recordItem))),
      ),
    );
    return el(
      'div',
      {},
      el('h3', { text: topic.name }),
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['partition', 'log start', 'log end'].map((t) => el('th', { class: 'num', text: t })),
            el('th', { text: 'latest records' }),
          ),
        ),
        el('tbody', {}, ...rows),
      ),
    );
  });
  root.replaceChildren(...blocks);
};

const outcome = (text, ok) => {
  const node = document.getElementById('outcome');
  node.textContent = text;
  node.className = ok ? 'good' : 'bad';
};

const act = async (body) => {
  try {
    const response = await fetch('/api/action', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    outcome(answer.ok ? answer.lines.join('\n') : answer.message, answer.ok);
  } catch (error) {
    outcome(`the console did not answer: ${error.message}`, false);
  }
  await refresh();
};

const leaseText = (lease) =>
  lease === null
    ? '-'
    : `${lease.owner} (${lease.expiresInMs > 0 ? `${Math.ceil(lease.expiresInMs / 1000)} s left` : 'expired'})`;

/**
 * A drain partition's row is built once and then only its text cells change, so a replay offset being
 * typed survives the next refresh.
 */
const drainRow = (tbody, drain, p) => {
  const key = `${drain.id}/${p.partition}`;
  let row = tbody.querySelector(`tr[data-drain-partition="${CSS.escape(key)}"]`);
  if (row === null) {
    const toggle = el('button', { type: 'button', class: 'toggle' });
    toggle.addEventListener('click', () =>
      act({
        drainId: drain.id,
        partition: p.partition,
        command: row.dataset.paused === 'true' ? 'resume' : 'pause',
      }),
    );
    const input = el('input', {
      class: 'offset',
      name: 'target',
      placeholder: 'offset',
      'aria-label': `replay ${key} from offset`,
    });
    const form = el(
      'form',
      { class: 'replay' },
      input,
      el('button', { type: 'submit', text: 'Replay from' }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void act({ drainId: drain.id, partition: p.partition, command: 'set-offset', target: input.value });
    });
    const cells = ['partition', 'next-offset', 'lag', 'paused', 'epoch', 'lease', 'last-error'].map((name) =>
      el('td', { class: name }),
    );
    row = el('tr', { dataset: { drainPartition: key } }, ...cells, el('td', {}, toggle, form));
    tbody.append(row);
  }
  const set = (name, text) => {
    row.querySelector(`td.${name}`).textContent = text;
  };
  set('partition', String(p.partition));
  set('next-offset', p.nextOffset === null ? '-' : String(p.nextOffset));
  set('lag', p.lag === null ? '-' : String(p.lag));
  set('paused', p.paused ? 'yes' : 'no');
  set('epoch', p.epoch === null ? '-' : String(p.epoch));
  set('lease', leaseText(p.lease));
  set('last-error', p.lastError ?? '-');
  row.dataset.paused = String(p.paused);
  row.classList.toggle('paused', p.paused);
  row.querySelector('button.toggle').textContent = p.paused ? 'Resume' : 'Pause';
};

const renderDrains = (drains) => {
  const root = document.getElementById('drains');
  if (drains.length === 0)
    root.replaceChildren(el('p', { class: 'muted', text: 'no drains configured (DRAINS)' }));
  for (const drain of drains) {
    let table = root.querySelector(`table[data-drain="${CSS.escape(drain.id)}"]`);
    if (table === null) {
      const head = ['partition', 'next offset', 'lag', 'paused', 'epoch', 'lease', 'last error', ''];
      table = el(
        'table',
        { dataset: { drain: drain.id } },
        el('caption', { text: `${drain.id} (topic ${drain.topic})` }),
        el('thead', {}, el('tr', {}, ...head.map((t) => el('th', { text: t })))),
        el('tbody'),
      );
      root.append(table);
    }
    const tbody = table.querySelector('tbody');
    for (const p of drain.partitions) drainRow(tbody, drain, p);
  }
};

const ageText = (ms) =>
  ms < 60_000
    ? `${Math.round(ms / 1000)} s`
    : ms < 3_600_000
      ? `${Math.round(ms / 60_000)} min`
      : `${Math.round(ms / 3_600_000)} h`;

const letterRow = (dlq, letter) =>
  el(
    'tr',
    { dataset: { letter: letter.messageId } },
    el('td', { class: 'drain', text: dlq.drainId }),
    el('td', { class: 'at', text: `${letter.topic}/${letter.partition}@${letter.offset}` }),
    el('td', { class: 'attempts num', text: String(letter.attempts) }),
    el('td', { class: 'error', text: `${letter.error.code}: ${letter.error.message}` }),
    el('td', { class: 'value', text: letter.value }),
  );

/** A drain's DLQ block is built once, its button kept across refreshes; its summary and letters change. */
const renderDlqs = (dlqs) => {
  const root = document.getElementById('dlqs');
  if (dlqs.length === 0)
    root.replaceChildren(el('p', { class: 'muted', text: 'no drain has a "dlq" (DRAINS)' }));
  for (const dlq of dlqs) {
    let block = root.querySelector(`div[data-dlq="${CSS.escape(dlq.drainId)}"]`);
    if (block === null) {
      const redrive = el('button', { type: 'button', class: 'redrive', text: 'Redrive' });
      redrive.addEventListener('click', () => act({ drainId: dlq.drainId, command: 'redrive' }));
      const head = ['drain', 'at', 'attempts', 'last error', 'value'];
      block = el(
        'div',
        { dataset: { dlq: dlq.drainId } },
        el('h3', { text: `${dlq.drainId} → ${dlq.queue}` }),
        el('p', {}, el('span', { class: 'summary' }), ' ', redrive),
        el(
          'table',
          {},
          el('thead', {}, el('tr', {}, ...head.map((t) => el('th', { text: t })))),
          el('tbody'),
        ),
      );
      root.append(block);
    }
    const summary = block.querySelector('.summary');
    if (dlq.error !== undefined) {
      summary.textContent = `not read: ${dlq.error}`;
      summary.className = 'summary bad';
    } else {
      summary.textContent =
        dlq.count === 0
          ? 'empty'
          : `${dlq.count}${dlq.capped ? '+' : ''} letter(s), the oldest failed ${ageText(dlq.oldestAgeMs)} ago${dlq.count > dlq.letters.length ? `; the first ${dlq.letters.length} below` : ''}`;
      summary.className = dlq.count === 0 ? 'summary muted' : 'summary bad';
    }
    block.querySelector('tbody').replaceChildren(...dlq.letters.map((letter) => letterRow(dlq, letter)));
    block.querySelector('table').hidden = dlq.letters.length === 0;
  }
};

const refresh = async () => {
  const status = document.getElementById('status');
  try {
    const response = await fetch('/api/snapshot');
    const snapshot = await response.json();
    if (!response.ok) throw new Error(snapshot.message);
    renderDrains(snapshot.drains);
    renderDlqs(snapshot.dlqs);
    renderTopics(snapshot.topics);
    status.textContent = `updated ${new Date(snapshot.atMs).toLocaleTimeString()}`;
    status.className = 'muted';
  } catch (error) {
    status.textContent = `not updated: ${error.message}`;
    status.className = 'bad';
  }
};

const loop = async () => {
  await refresh();
  setTimeout(loop, REFRESH_MS);
};
void loop();
