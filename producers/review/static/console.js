// Live SLA countdown: every element with data-due shows the time left (or how late it is).
function describe(ms) {
  const s = Math.abs(Math.round(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const span = d ? `${d}d ${h}h` : `${h}h ${m}m`;
  return ms >= 0 ? `due in ${span}` : `OVERDUE by ${span}`;
}
function tick() {
  for (const el of document.querySelectorAll('[data-due]')) {
    const left = Date.parse(el.dataset.due) - Date.now();
    el.textContent = describe(left);
    el.classList.toggle('overdue', left < 0);
  }
}
document.addEventListener('DOMContentLoaded', () => { tick(); setInterval(tick, 30000); });
