// The squall HTTP API as the dashboard uses it. The bearer token lives in
// sessionStorage (this tab only), is sent in the Authorization header and
// never appears in a URL. The live feed is read with fetch (EventSource
// cannot send a header) and parsed as Server-Sent Events.

const KEY = 'squall.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set token(t) { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); },
};

/** An API failure with squall's stable error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; resolves to the JSON answer, rejects with an ApiError. */
export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'squall cannot be reached');
  }
  const text = await resp.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!resp.ok) {
    const err = json && json.error;
    throw new ApiError(resp.status, err ? err.code : 'http', err ? err.message : `HTTP ${resp.status}`);
  }
  return json;
}

/** GET of an endpoint a squall may not have (older or partial builds): null on 404. */
export async function optional(path) {
  try {
    return await api('GET', path);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

/**
 * Follows /v1/events; calls onEvent(kind, data) for each event and
 * onState('live' | 'reconnecting' | 'signed-out'). Reconnects with backoff.
 * Returns a function that stops it.
 */
export function follow(onEvent, onState) {
  let stopped = false;
  let controller = null;
  let delay = 1000;
  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const resp = await fetch('/v1/events', {
          headers: { Authorization: `Bearer ${session.token}`, Accept: 'text/event-stream' },
          signal: controller.signal, cache: 'no-store', credentials: 'omit',
        });
        if (resp.status === 401) { onState('signed-out'); return; }
        if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
        onState('live');
        delay = 1000;
        await read(resp.body, onEvent);
      } catch (e) {
        if (stopped) return;
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  run();
  return () => { stopped = true; if (controller) controller.abort(); };
}

async function read(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let cut;
    while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
      let kind = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) kind = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) continue;
      let parsed = data.join('\n');
      try { parsed = JSON.parse(parsed); } catch { /* plain text (lagged) */ }
      onEvent(kind, parsed);
    }
  }
}
