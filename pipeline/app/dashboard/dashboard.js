// Polls /api/summary and draws simple SVG line charts; no external libraries (no CDN needed).
const COLOURS = ['#1e90ff', '#e4572e', '#17bebb', '#ffc914', '#76b041', '#9b5de5', '#555'];
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

function lineChart(svgId, legendId, series) {
  const svg = document.getElementById(svgId);
  const w = 400, h = 150, pad = 4;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const names = Object.keys(series);
  const max = Math.max(1, ...names.flatMap((n) => series[n]));
  svg.replaceChildren();
  names.forEach((name, i) => {
    const ys = series[name];
    const step = ys.length > 1 ? (w - 2 * pad) / (ys.length - 1) : 0;
    const points = ys.map((y, j) => `${pad + j * step},${h - pad - (y / max) * (h - 2 * pad)}`).join(' ');
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', points);
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', COLOURS[i % COLOURS.length]);
    line.setAttribute('stroke-width', '2');
    line.dataset.series = name;
    line.dataset.total = sum(ys);
    svg.appendChild(line);
  });
  if (legendId) {
    // names come from topics: text nodes only, never markup
    const legend = document.getElementById(legendId);
    legend.replaceChildren(...names.map((n, i) => {
      const span = document.createElement('span');
      span.style.color = COLOURS[i % COLOURS.length];
      span.textContent = `■ ${n} (${sum(series[n])})`;
      return span;
    }));
  }
}

function rows(tableId, data) {
  document.querySelector(`#${tableId} tbody`).replaceChildren(...data.map((r) => {
    const tr = document.createElement('tr');
    r.forEach((c, i) => {
      const td = document.createElement('td');
      if (i) td.className = 'n';
      td.textContent = String(c);
      tr.appendChild(td);
    });
    return tr;
  }));
}

function render(s) {
  const stages = Object.keys(s.stages);
  lineChart('chart-throughput', 'legend-throughput', Object.fromEntries(stages.map((n) => [n, s.stages[n].events_in])));
  lineChart('chart-latency', 'legend-latency', Object.fromEntries(stages.map((n) => [n, s.stages[n].latency_p95_ms])));
  lineChart('chart-dead', 'legend-dead', Object.fromEntries(stages.map((n) => [n, s.stages[n].dead_letters])));
  rows('stages', stages.map((n) => {
    const st = s.stages[n];
    return [n, sum(st.events_in), sum(st.events_out), sum(st.failures), sum(st.retries), sum(st.dead_letters), Math.max(...st.latency_p95_ms).toFixed(1)];
  }));
  document.querySelectorAll('#stages tbody tr').forEach((tr, i) => { tr.id = `stage-${stages[i]}`; });
  rows('lag', Object.entries(s.lag).flatMap(([g, topics]) => Object.entries(topics).map(([t, lag]) => [g, t, lag])));
  rows('outcomes', Object.entries(s.outcomes).flatMap(([st, o]) => Object.entries(o).map(([k, v]) => [st, k, v])));
  document.getElementById('review-backlog').textContent = s.review.backlog ?? 0;
  document.getElementById('review-open').textContent = s.review.open_tasks ?? 0;
  document.getElementById('review-breaches').textContent = s.review.sla_breaches_total ?? 0;
  lineChart('chart-breaches', null, { 'SLA breaches': s.stages.assign ? s.stages.assign.sla_breaches : [] });
  const b = s.business, t = (k) => sum(b[k]);
  const decided = t('identity:verified') + t('identity:rejected') + t('identity:resubmission_required');
  document.getElementById('biz-submitted').textContent = t('identity:submitted');
  document.getElementById('biz-approval').textContent = decided ? `${Math.round(100 * t('identity:verified') / decided)}%` : '–';
  document.getElementById('biz-rejected').textContent = t('identity:rejected');
  document.getElementById('biz-resubmission').textContent = t('identity:resubmission_required');
  document.getElementById('biz-compliance').textContent = `${t('compliance:approved')} / ${t('compliance:rejected')}`;
  lineChart('chart-business', 'legend-business', {
    submitted: b['identity:submitted'], verified: b['identity:verified'],
    rejected: b['identity:rejected'], resubmission: b['identity:resubmission_required'],
  });
  document.getElementById('window').textContent = `${s.window_s}s windows × ${s.window_starts.length}`;
  document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function refresh() {
  try {
    const response = await fetch('/api/summary', { cache: 'no-store' });
    render(await response.json());
  } catch (e) {
    document.getElementById('updated').textContent = `cannot reach the dashboard (${e})`;
  }
}
document.addEventListener('DOMContentLoaded', () => { refresh(); setInterval(refresh, 5000); });
