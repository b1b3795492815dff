// Building DOM without HTML strings: customer text is data, so every string
// goes in through textContent or an attribute, never through innerHTML.

/** h('p', {class: 'x', dir: 'auto'}, 'text', child) → element */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
});

/** A <time> element for an RFC 3339 instant. */
export function time(at, withDate = false) {
  if (!at) return h('span', { class: 'muted' }, '—');
  const d = new Date(at);
  return h('time', { datetime: at, title: d.toISOString() }, (withDate ? dateTimeFmt : timeFmt).format(d));
}

/** "4 min", "1 h 05 min", "45 s": how long someone has waited. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hh = Math.floor(m / 60);
  return `${hh} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A small coloured label. */
export function badge(text, kind = text) {
  return h('span', { class: `badge b-${String(kind).replace(/[^a-z0-9_-]/gi, '')}` }, text);
}

/** The document language for a BCP 47 code a platform gave us, or none. */
export function langAttr(lang) {
  return typeof lang === 'string' && /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(lang) ? lang : undefined;
}

/** Right-to-left languages: their text is laid out from the right. */
export function dirFor(lang) {
  return ['he', 'ar', 'fa', 'ur', 'yi'].includes(String(lang).split('-')[0]) ? 'rtl' : 'auto';
}

let toastTimer;
/** A short message at the bottom of the screen. */
export function toast(message, error = false) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.toggle('error', error);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, error ? 8000 : 3500);
}
