// The App Metrics page. Plain JavaScript, no framework and no build step:
// it talks only to the public API of the server that served it, with the
// bearer token the user pasted (kept in sessionStorage, never in a cookie
// or the URL). docs/ui.md describes what it calls and why it is built so.
(function () {
  'use strict';

  // ---- small helpers --------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'usagelens.token';
  const CLIENT_KEY = 'usagelens.client';
  const SORTS = ['canonical_name', 'unique_users', 'active_time', 'avg_time', 'session_count'];
  const GRANULARITIES = ['daily', 'weekly', 'monthly', 'quarterly'];
  const PERIODS = ['this_month', 'last_month', 'quarter', '12_months', 'custom'];
  const UNIT = { daily: 'day', weekly: 'week', monthly: 'month', quarterly: 'quarter' };
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const MONTHS_LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v; else e.setAttribute(k, String(v));
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  // ---- number formats (handlers/ui_browser_test.go mirrors these) -------
  function count(n) {
    const s = String(n);
    let out = '';
    for (let i = 0; i < s.length; i++) {
      if (i > 0 && (s.length - i) % 3 === 0) out += ',';
      out += s[i];
    }
    return out;
  }
  const pad2 = (n) => (n < 10 ? '0' : '') + n;
  // duration writes milliseconds truncated to the unit shown, so a figure
  // is never rounded up past what was used.
  function duration(ms) {
    if (ms < 1000) return ms + ' ms';
    if (ms < 60000) return Math.floor(ms / 1000) + '.' + Math.floor((ms % 1000) / 100) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + pad2(Math.floor((ms % 60000) / 1000)) + ' s';
    return count(Math.floor(ms / 3600000)) + ' h ' + pad2(Math.floor((ms % 3600000) / 60000)) + ' min';
  }
  const DASH = '—';
  function title(s) { return s ? s.charAt(0).toUpperCase() + s.slice(1) : DASH; }

  // ---- dates: 'YYYY-MM-DD' strings, computed in UTC -------------------
  const parseDay = (s) => { const [y, m, d] = s.split('-').map(Number); return new Date(Date.UTC(y, m - 1, d)); };
  const fmtDay = (d) => d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate());
  const isDay = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || '') && fmtDay(parseDay(s)) === s;
  const addDays = (s, n) => { const d = parseDay(s); d.setUTCDate(d.getUTCDate() + n); return fmtDay(d); };
  const daysBetween = (a, b) => Math.round((parseDay(b) - parseDay(a)) / 86400000);
  function addMonths(s, n) { // the same day n months away, clipped to that month's end
    const d = parseDay(s);
    const y = d.getUTCFullYear(), m = d.getUTCMonth() + n;
    const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    return fmtDay(new Date(Date.UTC(y, m, Math.min(d.getUTCDate(), last))));
  }
  const monthStart = (s) => s.slice(0, 8) + '01';
  const monthEnd = (s) => addDays(addMonths(monthStart(s), 1), -1);
  function quarterStart(s) { const m = Number(s.slice(5, 7)); return s.slice(0, 5) + pad2(m - (m - 1) % 3) + '-01'; }
  function today() { const d = new Date(); return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()); }
  function human(s) { const d = parseDay(s); return d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()] + ' ' + d.getUTCFullYear(); }
  function humanRange(a, b) {
    const da = parseDay(a), db = parseDay(b);
    if (a === b) return human(a);
    if (da.getUTCFullYear() === db.getUTCFullYear()) {
      if (da.getUTCMonth() === db.getUTCMonth()) return da.getUTCDate() + '–' + human(b);
      return da.getUTCDate() + ' ' + MONTHS[da.getUTCMonth()] + ' – ' + human(b);
    }
    return human(a) + ' – ' + human(b);
  }
  function binLabel(start, end, bin) {
    const d = parseDay(start);
    if (bin === 'month' || bin === 'monthly') return MONTHS[d.getUTCMonth()] + ' ' + d.getUTCFullYear();
    if (bin === 'quarter' || bin === 'quarterly') return 'Q' + (Math.floor(d.getUTCMonth() / 3) + 1) + ' ' + d.getUTCFullYear();
    if (bin === 'day' || bin === 'daily') return d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()];
    return d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()];
  }

  // periods returns the period and its comparison for the picker's state.
  // A whole month or quarter compares with the whole one before; one to
  // date (as of a day inside it) with the one before up to the same day
  // of the month (15 Mar: 15 Feb, or 15 Dec for the quarter), clipped to
  // its end; 12 months with the 12 months before; custom with
  // as many days right before it.
  function periods(s) {
    let start, end, cs, ce;
    const a = s.asOf;
    switch (s.period) {
      case 'last_month': {
        start = monthStart(addMonths(monthStart(a), -1)); end = monthEnd(start);
        cs = monthStart(addMonths(start, -1)); ce = monthEnd(cs);
        break;
      }
      case 'quarter': {
        start = quarterStart(a); end = a;
        cs = addMonths(start, -3); ce = addMonths(end, -3);
        const qe = addDays(start, -1);
        if (ce > qe || end === addDays(addMonths(start, 3), -1)) ce = qe;
        break;
      }
      case '12_months': {
        start = monthStart(addMonths(monthStart(a), -11)); end = a;
        cs = addMonths(start, -12); ce = addDays(start, -1);
        break;
      }
      case 'custom': {
        start = s.start; end = s.end;
        if (isDay(start) && isDay(end)) { const n = daysBetween(start, end); ce = addDays(start, -1); cs = addDays(ce, -n); }
        break;
      }
      default: { // this_month
        start = monthStart(a); end = a;
        cs = addMonths(start, -1); ce = addMonths(end, -1);
        const pe = addDays(start, -1);
        if (ce > pe || end === monthEnd(start)) ce = pe;
      }
    }
    return { start, end, cs, ce };
  }

  // ---- state, kept in the address bar's query (never the token) --------
  const state = {
    asOf: today(), period: 'this_month', start: '', end: '', compare: false, granularity: 'monthly',
    filter: '', q: '', categories: [], vendors: [], departments: [], favorite: '', approved: '',
    sortBy: 'active_time', sortOrder: 'desc', pageSize: 50, app: '', bin: '',
  };
  const DEFAULTS = Object.assign({}, state);

  function readQuery() {
    const p = new URLSearchParams(location.search);
    const list = (k) => (p.get(k) || '').split(',').filter(Boolean);
    const pick = (k, allowed, dflt) => (allowed.includes(p.get(k)) ? p.get(k) : dflt);
    Object.assign(state, DEFAULTS, {
      asOf: isDay(p.get('as_of')) ? p.get('as_of') : state.asOf,
      period: pick('period', PERIODS, DEFAULTS.period),
      start: isDay(p.get('start')) ? p.get('start') : '', end: isDay(p.get('end')) ? p.get('end') : '',
      compare: p.get('compare') === '1',
      granularity: pick('granularity', GRANULARITIES, DEFAULTS.granularity),
      filter: pick('filter', ['discovered', 'dropped_off'], ''),
      q: p.get('q') || '', categories: list('category_ids'), vendors: list('vendor_ids'), departments: list('department_ids'),
      favorite: pick('is_favorite', ['true', 'false'], ''), approved: pick('is_approved', ['true', 'false'], ''),
      sortBy: pick('sort_by', SORTS, DEFAULTS.sortBy), sortOrder: pick('sort_order', ['asc', 'desc'], DEFAULTS.sortOrder),
      pageSize: Math.min(200, Math.max(1, Number(p.get('page_size')) || DEFAULTS.pageSize)),
      app: /^[0-9a-f-]{36}$/i.test(p.get('app') || '') ? p.get('app') : '',
      bin: pick('bin', ['week', 'month'], ''),
    });
    if (state.period === 'custom' && !(state.start && state.end)) state.period = DEFAULTS.period;
  }

  function writeQuery(push) {
    const p = new URLSearchParams();
    if (state.asOf !== today()) p.set('as_of', state.asOf);
    if (state.period !== DEFAULTS.period) p.set('period', state.period);
    if (state.period === 'custom') { p.set('start', state.start); p.set('end', state.end); }
    if (state.compare) p.set('compare', '1');
    if (state.granularity !== DEFAULTS.granularity) p.set('granularity', state.granularity);
    if (state.filter) p.set('filter', state.filter);
    if (state.q) p.set('q', state.q);
    if (state.categories.length) p.set('category_ids', state.categories.join(','));
    if (state.vendors.length) p.set('vendor_ids', state.vendors.join(','));
    if (state.departments.length) p.set('department_ids', state.departments.join(','));
    if (state.favorite) p.set('is_favorite', state.favorite);
    if (state.approved) p.set('is_approved', state.approved);
    if (state.sortBy !== DEFAULTS.sortBy) p.set('sort_by', state.sortBy);
    if (state.sortOrder !== DEFAULTS.sortOrder) p.set('sort_order', state.sortOrder);
    if (state.pageSize !== DEFAULTS.pageSize) p.set('page_size', String(state.pageSize));
    if (state.bin) p.set('bin', state.bin);
    if (state.app) p.set('app', state.app);
    const url = location.pathname + (p.toString() ? '?' + p.toString() : '');
    if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState'](null, '', url);
  }

  // ---- the API ----------------------------------------------------------
  let token = '', client = '';

  class APIError extends Error {
    constructor(status, body, retryAfter) {
      const e = (body && body.error) || {};
      super(e.message || ('HTTP ' + status));
      this.status = status; this.code = e.code || ''; this.requestId = e.request_id || '';
      this.retryAfter = retryAfter; this.details = e.details || {};
    }
  }
  const base = () => '/v2/clients/' + encodeURIComponent(client);

  async function call(path, params, signal) {
    const qs = params ? '?' + new URLSearchParams(params).toString() : '';
    let resp;
    try {
      resp = await fetch(base() + path + qs, { headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' }, signal, cache: 'no-cache' });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      const e = new APIError(0, null, 0); e.code = 'network'; throw e;
    }
    if (resp.ok) return resp;
    let body = null;
    try { body = await resp.json(); } catch (_) { /* not the error shape */ }
    throw new APIError(resp.status, body, Number(resp.headers.get('Retry-After')) || 0);
  }

  // plain words for an error; retry: whether waiting and sending again may help.
  function explain(e) {
    switch (e.code || e.status) {
      case 'network': return { text: 'Cannot reach the usagelens server at ' + location.host + '. Is it running?', retry: true, wait: 5 };
      case 'too_many_requests': return { text: 'This client has too many requests running at once.', retry: true, wait: e.retryAfter || 2 };
      case 'unavailable': return { text: 'The service cannot reach its database right now.', retry: true, wait: e.retryAfter || 5 };
      case 'overloaded': return { text: 'The database is too busy to answer right now.', retry: true, wait: e.retryAfter || 5 };
      case 'timeout': return { text: 'The query took too long. Try a shorter period or fewer filters.', retry: false };
      case 'result_too_large': return { text: 'The answer is too large for the database’s limits. Narrow the period or the filters.', retry: false };
      case 'invalid_parameter': return { text: 'The service refused these settings: ' + e.message + '.', retry: false };
      case 'not_found': return { text: 'Not found: ' + e.message + '.', retry: false };
      case 'internal': return { text: 'Something went wrong on the server. Quote request id ' + e.requestId + ' when you report it.', retry: false };
      default: return { text: 'The server answered ' + e.status + (e.message ? ': ' + e.message : '') + '.', retry: e.status >= 500, wait: 5 };
    }
  }

  // An answer of 401, 403 or an unknown client ends the session.
  function isSignInError(e) {
    return e.status === 401 || e.status === 403 || (e.status === 404 && e.details && 'client_id' in e.details);
  }

  // retrying runs fn, and on a 429 or 503 waits as long as Retry-After says
  // (counting down in report) and sends it again, up to 5 times. A later
  // generation (gen() changed) stops it quietly.
  async function retrying(fn, report, gen) {
    const mine = gen();
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (e.name === 'AbortError' || !(e instanceof APIError)) throw e;
        const x = explain(e);
        const transient = e.status === 429 || e.status === 503 || e.code === 'network';
        if (!transient || attempt >= 5 || gen() !== mine) throw e;
        for (let left = Math.max(1, Math.ceil(x.wait)); left > 0; left--) {
          if (gen() !== mine) throw new DOMException('superseded', 'AbortError');
          report(x.text + ' Trying again in ' + left + (left === 1 ? ' second…' : ' seconds…'), e);
          await sleep(1000);
        }
        if (gen() !== mine) throw new DOMException('superseded', 'AbortError');
        report('Trying again…', e);
      }
    }
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // The utilization parameters of what the page shows; the CSV uses the
  // same ones without paging.
  function tableParams() {
    const p = periods(state);
    const out = { granularity: state.granularity, start_date: p.start, end_date: p.end };
    if (state.compare && p.cs) { out.compare_start_date = p.cs; out.compare_end_date = p.ce; }
    if (state.filter) out.filter = state.filter;
    if (state.q.trim()) out.q = state.q.trim();
    if (state.categories.length) out.category_ids = state.categories.join(',');
    if (state.vendors.length) out.vendor_ids = state.vendors.join(',');
    if (state.departments.length) out.department_ids = state.departments.join(',');
    if (state.favorite) out.is_favorite = state.favorite;
    if (state.approved) out.is_approved = state.approved;
    out.sort_by = state.sortBy; out.sort_order = state.sortOrder;
    return out;
  }
  const hasFilters = () => !!(state.filter || state.q.trim() || state.categories.length || state.vendors.length ||
    state.departments.length || state.favorite || state.approved);

  // ---- sign-in ----------------------------------------------------------
  function clientOfToken(t) {
    try {
      const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part + '==='.slice((part.length + 3) % 4))).sub || '';
    } catch (_) { return ''; }
  }

  function showSignIn(message) {
    token = ''; sessionStorage.removeItem(TOKEN_KEY);
    document.body.dataset.state = 'signin';
    $('main').hidden = true; $('who').hidden = true; $('signin').hidden = false;
    const m = $('signin-message');
    m.hidden = !message; m.textContent = message || '';
    $('signin-client').value = client || '';
    $('signin-token').value = '';
    $('signin-token').focus();
  }

  function signInMessage(e) {
    if (e.status === 401) {
      return /expired/i.test(e.message) ? 'Your token has expired. Paste a new one to go on.' :
        'This token is not valid here (' + e.message + '). Paste a token this server minted.';
    }
    if (e.status === 403) return 'This token belongs to another client than ' + client + '. Paste one for this client, or leave the client id empty.';
    return 'There is no client ' + client + ' on this server. Check the client id.';
  }

  function startSession(t, c) {
    token = t.trim(); client = (c || '').trim().toLowerCase() || clientOfToken(token);
    if (!token) { showSignIn('Paste a token first.'); return; }
    if (!client) { showSignIn('The token names no client: type the client id.'); return; }
    sessionStorage.setItem(TOKEN_KEY, token); sessionStorage.setItem(CLIENT_KEY, client);
    $('signin').hidden = true; $('main').hidden = false; $('who').hidden = false;
    $('who-client').textContent = 'Client ' + client;
    choicesLoaded = false;
    render();
  }

  // ---- the controls -----------------------------------------------------
  const multis = {};
  function multiSelect(id, key, label) {
    const box = $(id);
    const details = el('details', { class: 'multi-pop' });
    const summary = el('summary', { 'aria-describedby': id + '-label' });
    const list = el('fieldset', { class: 'multi-list' }, el('legend', { class: 'sr-only', text: label }));
    const filterBox = el('input', { type: 'search', placeholder: 'Find…', 'aria-label': 'Find ' + label.toLowerCase(), class: 'multi-find' });
    const items = el('div', { class: 'multi-items' });
    list.append(filterBox, items);
    details.append(summary, list);
    box.querySelector('span').id = id + '-label';
    box.append(details);
    const m = { key, label, options: new Map(), summary, items, details };
    filterBox.addEventListener('input', () => {
      const f = filterBox.value.toLowerCase();
      for (const row of items.children) row.hidden = f !== '' && !row.textContent.toLowerCase().includes(f);
    });
    details.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { details.open = false; summary.focus(); } });
    document.addEventListener('click', (ev) => { if (details.open && !details.contains(ev.target)) details.open = false; });
    multis[key] = m;
    drawMulti(m);
    return m;
  }
  function drawMulti(m) {
    const focused = m.items.contains(document.activeElement) ? document.activeElement.value : null;
    const chosen = state[m.key];
    for (const id of chosen) if (!m.options.has(id)) m.options.set(id, id);
    m.items.replaceChildren();
    const entries = [...m.options.entries()].sort((a, b) => a[1].localeCompare(b[1]));
    if (!entries.length) m.items.append(el('p', { class: 'hint', text: 'None known yet.' }));
    for (const [id, name] of entries) {
      const box = el('input', { type: 'checkbox', value: id, 'data-id': id });
      box.checked = chosen.includes(id);
      box.addEventListener('change', () => {
        const set = new Set(state[m.key]);
        if (box.checked) set.add(id); else set.delete(id);
        state[m.key] = [...set];
        summarizeMulti(m);
        changed();
      });
      m.items.append(el('label', { class: 'check' }, box, ' ' + name));
      if (id === focused) box.focus();
    }
    summarizeMulti(m);
  }
  function summarizeMulti(m) {
    const n = state[m.key].length;
    m.summary.textContent = n === 0 ? 'Any' : n === 1 ? (m.options.get(state[m.key][0]) || '1 chosen') : n + ' chosen';
  }
  function addChoices(m, pairs) {
    let added = false;
    for (const [id, name] of pairs) {
      if (!id) continue;
      const nm = name || id, cur = m.options.get(id);
      if (cur === undefined || (cur === id && nm !== id)) { m.options.set(id, nm); added = true; }
    }
    if (added) drawMulti(m);
  }
  // refreshMulti shows the state's choices without rebuilding the list, so
  // a checkbox keeps the keyboard focus while the table reloads.
  function refreshMulti(m) {
    if (state[m.key].some((id) => !m.options.has(id))) { drawMulti(m); return; }
    for (const box of m.items.querySelectorAll('input[type=checkbox]')) box.checked = state[m.key].includes(box.value);
    summarizeMulti(m);
  }

  function syncControls() {
    $('period').value = state.period;
    $('asof').value = state.asOf;
    $('start').value = state.start || periods(Object.assign({}, state, { period: 'this_month' })).start;
    $('end').value = state.end || state.asOf;
    const custom = state.period === 'custom';
    $('start-field').hidden = !custom; $('end-field').hidden = !custom; $('asof-field').hidden = custom;
    $('granularity').value = state.granularity;
    $('compare').checked = state.compare;
    $('filter').value = state.filter;
    if (document.activeElement !== $('q')) $('q').value = state.q;
    $('favorite').value = state.favorite;
    $('approved').value = state.approved;
    $('page-size').value = String(state.pageSize);
    if (![...$('page-size').options].some((o) => o.value === String(state.pageSize))) {
      $('page-size').append(el('option', { text: String(state.pageSize) })); $('page-size').value = String(state.pageSize);
    }
    $('sort-select').value = state.sortBy;
    $('sort-order').textContent = state.sortOrder === 'desc' ? 'Highest first' : 'Lowest first';
    for (const m of Object.values(multis)) refreshMulti(m);
    for (const th of document.querySelectorAll('#apps th[data-sort]')) {
      const on = th.dataset.sort === state.sortBy;
      if (on) th.setAttribute('aria-sort', state.sortOrder === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    const on = [state.filter, state.q.trim(), state.favorite, state.approved].filter(Boolean).length +
      state.categories.length + state.vendors.length + state.departments.length;
    $('filters-toggle').textContent = on ? 'Filters (' + on + ' on)' : 'Filters';
    $('avg-head').textContent = 'Avg per active ' + UNIT[state.granularity];
    const p = periods(state);
    let text = p.start && p.end ? humanRange(p.start, p.end) : 'Choose both days';
    if (state.compare && p.cs) text += ', compared with ' + humanRange(p.cs, p.ce);
    $('period-text').textContent = text;
    const weekly = chartBin() === 'week';
    $('bin-week').setAttribute('aria-pressed', String(weekly));
    $('bin-month').setAttribute('aria-pressed', String(!weekly));
  }

  let debounce = 0;
  function changed(opts) {
    clearTimeout(debounce);
    writeQuery(false);
    if (opts && opts.later) { debounce = setTimeout(render, 300); return; }
    render();
  }

  function wireControls() {
    $('period').addEventListener('change', () => {
      const v = $('period').value;
      if (v === 'custom' && !state.start) { const p = periods(state); state.start = p.start; state.end = p.end; }
      state.period = v; changed();
    });
    $('asof').addEventListener('change', () => { if (isDay($('asof').value)) { state.asOf = $('asof').value; changed(); } });
    for (const id of ['start', 'end']) {
      $(id).addEventListener('change', () => { if (isDay($(id).value)) { state[id] = $(id).value; changed(); } });
    }
    $('granularity').addEventListener('change', () => { state.granularity = $('granularity').value; changed(); });
    $('compare').addEventListener('change', () => { state.compare = $('compare').checked; changed(); });
    $('filter').addEventListener('change', () => { state.filter = $('filter').value; changed(); });
    $('q').addEventListener('input', () => { state.q = $('q').value; changed({ later: true }); });
    $('q').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); state.q = $('q').value; changed(); } });
    $('favorite').addEventListener('change', () => { state.favorite = $('favorite').value; changed(); });
    $('approved').addEventListener('change', () => { state.approved = $('approved').value; changed(); });
    $('page-size').addEventListener('change', () => { state.pageSize = Number($('page-size').value); changed(); });
    $('sort-select').addEventListener('change', () => { sortBy($('sort-select').value, true); });
    $('sort-order').addEventListener('click', () => { state.sortOrder = state.sortOrder === 'desc' ? 'asc' : 'desc'; changed(); });
    $('clear').addEventListener('click', clearFilters);
    $('filters-toggle').addEventListener('click', () => {
      const open = $('filters-toggle').getAttribute('aria-expanded') !== 'true';
      $('filters-toggle').setAttribute('aria-expanded', String(open));
      document.body.dataset.filters = open ? 'open' : '';
    });
    $('controls').addEventListener('submit', (ev) => ev.preventDefault());
    for (const th of document.querySelectorAll('#apps th[data-sort]')) {
      th.querySelector('button').addEventListener('click', () => sortBy(th.dataset.sort));
    }
    $('more').addEventListener('click', loadMore);
    $('download').addEventListener('click', download);
    $('problem-retry').addEventListener('click', () => render());
    $('activity-retry').addEventListener('click', () => render());
    $('bin-week').addEventListener('click', () => { state.bin = 'week'; writeQuery(false); syncControls(); loadTrend(); });
    $('bin-month').addEventListener('click', () => { state.bin = 'month'; writeQuery(false); syncControls(); loadTrend(); });
    $('signout').addEventListener('click', () => { sessionStorage.clear(); client = ''; showSignIn('Signed out. The token is gone from this tab.'); });
    $('signin-form').addEventListener('submit', (ev) => { ev.preventDefault(); startSession($('signin-token').value, $('signin-client').value); });
    $('back').addEventListener('click', (ev) => { ev.preventDefault(); state.app = ''; writeQuery(true); render(); });
    window.addEventListener('popstate', () => { readQuery(); render(); });
    let resizing = 0, lastWidth = window.innerWidth;
    window.addEventListener('resize', () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        if (window.innerWidth === lastWidth) return;
        lastWidth = window.innerWidth;
        for (const box of document.querySelectorAll('.chart')) if (box.redraw && box.offsetParent) box.redraw();
      }, 150);
    });
    multiSelect('cat-multi', 'categories', 'Categories');
    multiSelect('vendor-multi', 'vendors', 'Vendors');
    multiSelect('dept-multi', 'departments', 'Departments');
  }

  function sortBy(col, fromSelect) {
    if (state.sortBy === col && !fromSelect) state.sortOrder = state.sortOrder === 'desc' ? 'asc' : 'desc';
    else { state.sortBy = col; state.sortOrder = col === 'canonical_name' ? 'asc' : 'desc'; }
    changed();
  }

  function clearFilters() {
    Object.assign(state, { filter: '', q: '', categories: [], vendors: [], departments: [], favorite: '', approved: '' });
    $('q').value = '';
    changed();
  }

  // ---- the table ----------------------------------------------------------
  let generation = 0;
  const gen = () => generation;
  let controller = null;
  let nextCursor = null, shown = 0, total = 0;
  let choicesLoaded = false;
  let focusTitle = false;

  function setBusy(on) {
    if (on) document.body.dataset.busy = '1'; else delete document.body.dataset.busy;
    $('apps').setAttribute('aria-busy', String(!!on));
  }

  function render() {
    generation++;
    if (controller) controller.abort();
    controller = new AbortController();
    syncControls();
    const p = periods(state);
    if (!isDay(p.start) || !isDay(p.end) || p.end < p.start) {
      showProblem('Choose a period: the first day must not be after the last.', false);
      document.body.dataset.state = 'error';
      return;
    }
    document.body.dataset.view = state.app ? 'activity' : 'table';
    if (state.app) { $('table-view').hidden = true; $('activity-view').hidden = false; loadActivity(); return; }
    $('table-view').hidden = false; $('activity-view').hidden = true;
    document.title = 'App Metrics · usagelens';
    if (!choicesLoaded) loadChoices();
    loadTable();
    loadTrend();
  }

  function status(text) { $('status').textContent = text; }
  function showProblem(text, retry) {
    $('problem').hidden = false; $('problem-text').textContent = text; $('problem-retry').hidden = !retry;
  }
  function hideProblem() { $('problem').hidden = true; }

  function failed(e, where) {
    if (e.name === 'AbortError') return true;
    if (isSignInError(e)) { showSignIn(signInMessage(e)); return true; }
    if (where === 'table') {
      const x = explain(e);
      setBusy(false);
      document.body.dataset.state = 'error';
      status('');
      $('rows').replaceChildren(); $('more').hidden = true; $('summary').textContent = '';
      showProblem(x.text + (x.retry ? ' It did not answer after several tries.' : ''), true);
      return true;
    }
    return false;
  }

  async function loadTable() {
    const mine = gen();
    setBusy(true);
    document.body.dataset.state = 'loading';
    hideProblem(); $('empty').hidden = true; $('more').hidden = true;
    status('Loading apps…');
    const params = Object.assign(tableParams(), { page_size: String(state.pageSize) });
    // What the rows are an answer to, for tests and for anyone reading the
    // DOM: the query of the first page, and how many rows are shown.
    delete $('apps').dataset.query;
    try {
      const page = await fetchPage(params, mine);
      if (mine !== gen()) return;
      $('apps').dataset.query = new URLSearchParams(params).toString();
      $('rows').replaceChildren();
      shown = 0; total = page.total_count;
      addRows(page);
      finishPage(page);
    } catch (e) { failed(e, 'table'); }
  }

  async function fetchPage(params, mine) {
    const signal = controller.signal;
    return retrying(async () => (await call('/analytics/apps/utilization', params, signal)).json(),
      (text) => { if (mine === gen()) { status(text); document.body.dataset.state = 'waiting'; } }, gen);
  }

  async function loadMore() {
    if (!nextCursor) return;
    const mine = gen();
    setBusy(true);
    $('more').disabled = true;
    status('Loading more apps…');
    const params = Object.assign(tableParams(), { page_size: String(state.pageSize), cursor: nextCursor });
    try {
      const page = await fetchPage(params, mine);
      if (mine !== gen()) return;
      const first = shown;
      addRows(page);
      finishPage(page);
      const row = $('rows').children[first];
      if (row) row.querySelector('a').focus({ preventScroll: false });
    } catch (e) { failed(e, 'table'); } finally { $('more').disabled = false; }
  }

  function finishPage(page) {
    nextCursor = page.next_cursor;
    $('apps').dataset.rows = String(shown);
    $('more').hidden = !nextCursor;
    $('more').textContent = nextCursor ? 'Load more (' + count(total - shown) + ' left)' : 'Load more';
    setBusy(false);
    const p = periods(state);
    $('summary').textContent = total === 0 ? '' : (shown === total ? count(total) + (total === 1 ? ' app' : ' apps') :
      'Showing ' + count(shown) + ' of ' + count(total) + ' apps') + ' · ' + humanRange(p.start, p.end) +
      (state.compare ? ' vs ' + humanRange(p.cs, p.ce) : '');
    if (total === 0) { showEmpty(); return; }
    document.body.dataset.state = 'table';
    status('');
    if (!performance.getEntriesByName('usagelens:rows').length) performance.mark('usagelens:rows');
  }

  function showEmpty() {
    document.body.dataset.state = 'empty';
    status('No apps to show.');
    const p = periods(state);
    $('empty').hidden = false;
    const action = $('empty-action');
    action.hidden = true; $('empty-hint').textContent = '';
    if (hasFilters()) {
      const what = state.filter === 'discovered' ? 'No app was first used' : state.filter === 'dropped_off' ? 'No app dropped off' : 'No app matches these filters';
      $('empty-text').textContent = what + ' in ' + humanRange(p.start, p.end) + '.';
      action.textContent = 'Clear filters'; action.hidden = false; action.onclick = clearFilters;
      return;
    }
    $('empty-text').textContent = 'No app was used in ' + humanRange(p.start, p.end) + '.';
    findLatestData(gen());
  }

  // findLatestData looks back a year for the last month with usage and
  // offers to show it: a period with no data usually means the data ends
  // earlier (the demo's ends on 2026-10-31).
  async function findLatestData(mine) {
    const end = periods(state).end;
    try {
      const resp = await call('/analytics/usage', { start_date: addDays(end, -365), end_date: end, bin_size: 'month', metrics: 'active_user_days' }, controller.signal);
      const s = await resp.json();
      if (mine !== gen()) return;
      const bins = (s.data[0] && s.data[0].bins) || [];
      const last = [...bins].reverse().find((b) => b.active_user_days > 0);
      if (!last) { $('empty-hint').textContent = 'There is no usage at all in the year up to ' + human(end) + '.'; return; }
      const action = $('empty-action');
      const label = MONTHS_LONG[parseDay(last.start_date).getUTCMonth()] + ' ' + last.start_date.slice(0, 4);
      $('empty-hint').textContent = 'The latest usage is in ' + label + '.';
      action.textContent = 'Show ' + label; action.hidden = false;
      action.onclick = () => { state.asOf = monthEnd(last.start_date); state.period = 'this_month'; changed(); };
    } catch (e) { failed(e); }
  }

  function metricCell(col, m, fmt) {
    const box = el('span', { class: 'mv' });
    box.append(el('span', { class: 'v', 'data-value': m.value === null ? '' : m.value, text: m.value === null ? DASH : fmt(m.value),
      title: m.value === null ? 'no activity to average' : (fmt === duration ? count(m.value) + ' ms' : null) }));
    if (state.compare) {
      box.append(el('br'), changeSpan(m), ' ', el('span', { class: 'was', 'data-compare-value': m.compare_value === null ? '' : m.compare_value,
        text: m.compare_value === null ? '' : 'from ' + fmt(m.compare_value) }));
    }
    return el('td', { class: 'num', 'data-col': col }, box);
  }
  function changeText(m) {
    if (m.change_pct === null) return m.compare_value === 0 && m.value > 0 ? 'new' : DASH;
    if (m.change_pct > 0) return '▲ ' + m.change_pct + '%';
    if (m.change_pct < 0) return '▼ ' + (-m.change_pct) + '%';
    return '± 0%';
  }
  function changeSpan(m) {
    const pct = m.change_pct;
    const cls = pct === null ? (m.compare_value === 0 && m.value > 0 ? 'up' : 'flat') : pct > 0 ? 'up' : pct < 0 ? 'down' : 'flat';
    const spoken = pct === null ? (cls === 'up' ? 'new in this period' : 'no change to compute') :
      pct > 0 ? 'up ' + pct + ' percent' : pct < 0 ? 'down ' + (-pct) + ' percent' : 'unchanged';
    return el('span', { class: 'chg ' + cls, 'data-change-pct': pct === null ? '' : pct, title: spoken, 'aria-label': spoken, text: changeText(m) });
  }
  function badge(kind, v, hint) {
    return el('span', { class: 'badge ' + kind + '-' + (v || 'none'), title: v ? null : hint, text: title(v) });
  }
  const LABELS = {
    name: 'App', vendor: 'Vendor', categories: 'Categories', favorite: 'Favourite', approved: 'Approved', licenses: 'Licenses',
    unique_users: 'Unique users', active_time_ms: 'Active time', avg_time_ms_per_day: 'Avg time', session_count: 'Sessions',
    usage_level: 'Usage', risk_level: 'Risk',
  };

  function addRows(page) {
    const frag = document.createDocumentFragment();
    const cats = [], vendors = [];
    for (const r of page.data) {
      const a = r.app, c = a.catalog_app;
      const link = el('a', { href: '?app=' + a.id, class: 'app-link', text: c.canonical_name });
      link.addEventListener('click', (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
        ev.preventDefault(); state.app = a.id; focusTitle = true; writeQuery(true); window.scrollTo(0, 0); render();
      });
      const tr = el('tr', { 'data-app-id': a.id },
        el('th', { scope: 'row', 'data-col': 'name' }, el('div', { class: 'name' },
          el('span', { class: 'avatar', 'aria-hidden': 'true', text: (c.canonical_name || '?').charAt(0).toUpperCase() }),
          el('div', {}, link, el('span', { class: 'type', text: c.type })))),
        el('td', { 'data-col': 'vendor', text: c.vendor.name }),
        el('td', { 'data-col': 'categories', text: c.categories.length ? c.categories.map((x) => x.name).join(', ') : DASH }),
        el('td', { 'data-col': 'favorite' }, el('span', { class: a.is_favorite ? 'yes' : 'no', text: a.is_favorite ? 'Yes' : 'No' })),
        el('td', { 'data-col': 'approved' }, el('span', { class: a.is_approved ? 'yes' : 'no', text: a.is_approved ? 'Yes' : 'No' })),
        el('td', { class: 'num', 'data-col': 'licenses', text: a.license_count === null ? DASH : count(a.license_count) }),
        metricCell('unique_users', r.unique_users, count),
        metricCell('active_time_ms', r.active_time_ms, duration),
        metricCell('avg_time_ms_per_day', r.avg_time_ms_per_day, duration),
        metricCell('session_count', r.session_count, count),
        el('td', { 'data-col': 'usage_level' }, badge('usage', r.usage_level, 'fewer than 5 user-days: too few to say')),
        el('td', { 'data-col': 'risk_level' }, badge('risk', r.risk_level, a.is_approved ? 'approved apps carry no risk level' : 'no risk level known')));
      for (const cell of tr.children) cell.setAttribute('data-label', LABELS[cell.dataset.col]);
      frag.append(tr);
      vendors.push([c.vendor.id, c.vendor.name]);
      for (const x of c.categories) cats.push([x.id, x.name]);
    }
    $('rows').append(frag);
    shown += page.data.length;
    // The rows' own categories and vendors are choices even if the lists
    // below could not be loaded.
    addChoices(multis.categories, cats);
    addChoices(multis.vendors, vendors);
  }

  // loadChoices fills the category, vendor and department lists with every
  // one the client has, from the usage series with display_all.
  async function loadChoices() {
    choicesLoaded = true;
    const p = periods(state);
    const dims = [['category', multis.categories], ['vendor', multis.vendors], ['department', multis.departments]];
    await Promise.all(dims.map(async ([dim, m]) => {
      let cursor = '';
      try {
        for (let i = 0; i < 20; i++) {
          const params = { start_date: p.start, end_date: p.end, group_by: dim, display_all: 'true', metrics: 'active_user_days', sort_by: 'name', sort_order: 'asc', page_size: '200' };
          if (cursor) params.cursor = cursor;
          const s = await (await call('/analytics/usage', params)).json();
          addChoices(m, s.data.map((d) => [d.group.id, d.group.name || d.group.id]));
          if (!s.next_cursor) break;
          cursor = s.next_cursor;
        }
      } catch (e) {
        if (isSignInError(e)) showSignIn(signInMessage(e));
        choicesLoaded = false; // try again on the next change
      }
    }));
  }

  // ---- the CSV --------------------------------------------------------------
  async function download() {
    const btn = $('download');
    const params = tableParams();
    btn.disabled = true; btn.textContent = 'Preparing CSV…';
    document.body.dataset.download = 'running';
    try {
      const resp = await retrying(() => call('/analytics/apps/utilization/export', params), (text) => status(text), () => 0);
      const name = /filename="([^"]+)"/.exec(resp.headers.get('Content-Disposition') || '');
      const blob = await resp.blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: name ? name[1] : 'app-utilization.csv', hidden: true });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status('Downloaded ' + (name ? name[1] : 'the CSV') + ' (' + count(blob.size) + ' bytes).');
      document.body.dataset.download = 'done';
    } catch (e) {
      document.body.dataset.download = 'failed';
      if (!failed(e)) status('The CSV could not be made. ' + explain(e).text);
    } finally { btn.disabled = false; btn.textContent = 'Download CSV'; }
  }

  // ---- the charts -------------------------------------------------------------
  function chartBin() {
    if (state.bin) return state.bin;
    const p = periods(state);
    return isDay(p.start) && isDay(p.end) && daysBetween(p.start, p.end) <= 92 ? 'week' : 'month';
  }

  async function loadTrend() {
    const mine = gen();
    const p = periods(state);
    const bin = chartBin();
    const params = { start_date: p.start, end_date: p.end, bin_size: bin, metrics: 'active_time_ms,unique_users' };
    if (state.categories.length) params.category_ids = state.categories.join(',');
    if (state.vendors.length) params.vendor_ids = state.vendors.join(',');
    if (state.departments.length) params.department_ids = state.departments.join(',');
    const ignored = [state.q.trim() && 'name search', state.filter && 'discovered / dropped off', state.favorite && 'favourite', state.approved && 'approved'].filter(Boolean);
    $('trend-note').textContent = 'All of the client’s usage' + (params.category_ids || params.vendor_ids || params.department_ids ? ' in the chosen categories, vendors and departments' : '') +
      ', per ' + bin + '.' + (ignored.length ? ' The ' + ignored.join(', ') + ' filter' + (ignored.length > 1 ? 's do' : ' does') + ' not apply to the chart.' : '');
    $('trend-status').textContent = 'Loading the chart…';
    $('trend').dataset.loaded = ''; delete $('trend').dataset.query;
    try {
      const s = await retrying(async () => (await call('/analytics/usage', params, controller.signal)).json(),
        (text) => { if (mine === gen()) $('trend-status').textContent = text; }, gen);
      if (mine !== gen()) return;
      const bins = s.data[0] ? s.data[0].bins : [];
      drawChart($('trend-chart'), $('trend-table'), bins.map((b) => ({ start: b.start_date, end: b.end_date, label: binLabel(b.start_date, b.end_date, bin), ms: b.active_time_ms, users: b.unique_users })),
        'Active time and unique users per ' + bin + ', ' + humanRange(p.start, p.end));
      $('trend-status').textContent = bins.every((b) => b.active_time_ms === 0 && b.unique_users === 0) ? 'No usage in this period.' : '';
      $('trend').dataset.loaded = String(bins.length);
      $('trend').dataset.query = new URLSearchParams(params).toString();
    } catch (e) {
      if (!failed(e)) $('trend-status').textContent = 'The chart could not be loaded. ' + explain(e).text;
    }
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  // timeUnit picks the unit the time axis counts in.
  function timeUnit(maxMs) {
    if (maxMs >= 3600000 * 2) return { div: 3600000, name: 'h' };
    if (maxMs >= 60000 * 2) return { div: 60000, name: 'min' };
    return { div: 1000, name: 's' };
  }

  // drawChart draws bars of active time and a line of unique users into
  // box, and the same numbers as a table into tableBox.
  function drawChart(box, tableBox, points, caption, opts) {
    opts = opts || {};
    const W = Math.max(480, Math.round(box.clientWidth) || 960), H = opts.height || 160, L = 64, R = 56, T = 12, B = 24;
    const iw = W - L - R, ih = H - T - B;
    const maxMs = Math.max(0, ...points.map((p) => p.ms));
    const unit = timeUnit(maxMs);
    const yMax = niceMax(maxMs / unit.div);
    const uMax = niceMax(Math.max(0, ...points.map((p) => p.users)));
    const n = Math.max(1, points.length), slot = iw / n, bw = Math.max(2, Math.min(48, slot * 0.6));
    const id = box.id + '-title';
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': id, class: 'chart-svg', preserveAspectRatio: 'xMidYMid meet' },
      svg('title', { id, text: caption }));
    for (let i = 0; i <= 4; i++) {
      const y = T + ih - (ih * i) / 4;
      root.append(svg('line', { x1: L, x2: L + iw, y1: y, y2: y, class: 'grid' }));
      const tv = (yMax * i) / 4;
      root.append(svg('text', { x: L - 8, y: y + 4, class: 'axis axis-l', 'text-anchor': 'end', text: count(Math.round(tv * 10) / 10 === Math.round(tv) ? Math.round(tv) : tv.toFixed(1)) + ' ' + unit.name }));
      const uv = (uMax * i) / 4;
      root.append(svg('text', { x: L + iw + 8, y: y + 4, class: 'axis axis-r', text: Number.isInteger(uv) ? count(uv) : uv.toFixed(1) }));
    }
    const every = Math.ceil(n / 12);
    const line = [];
    points.forEach((p, i) => {
      const cx = L + slot * i + slot / 2;
      const h = (ih * (p.ms / unit.div)) / yMax;
      const bar = svg('rect', { x: cx - bw / 2, y: T + ih - h, width: bw, height: Math.max(0, h), class: 'bar-time', 'data-ms': p.ms },
        svg('title', { text: p.label + ': ' + duration(p.ms) + ' active, ' + count(p.users) + ' unique users' }));
      root.append(bar);
      const uy = T + ih - (ih * p.users) / uMax;
      line.push([cx, uy]);
      if (i % every === 0) root.append(svg('text', { x: cx, y: H - B + 18, class: 'axis', 'text-anchor': 'middle', text: p.label }));
    });
    if (line.length) {
      root.append(svg('polyline', { points: line.map((p) => p.join(',')).join(' '), class: 'line-users' }));
      line.forEach(([x, y], i) => root.append(svg('circle', { cx: x, cy: y, r: 4, class: 'dot-users', 'data-users': points[i].users },
        svg('title', { text: points[i].label + ': ' + count(points[i].users) + ' unique users' }))));
    }
    const legend = el('p', { class: 'legend' }, el('span', { class: 'legend-time', text: '■ Active time (' + unit.name + ', left axis)' }),
      ' ', el('span', { class: 'legend-users', text: '● Unique users (right axis)' }));
    box.replaceChildren(root, legend);
    box.redraw = () => drawChart(box, tableBox, points, caption, opts);
    const rows = points.map((p) => el('tr', { 'data-start': p.start },
      el('th', { scope: 'row', text: humanRange(p.start, p.end) }),
      el('td', { class: 'num', 'data-value': p.ms, text: duration(p.ms) }),
      el('td', { class: 'num', 'data-value': p.users, text: count(p.users) })));
    tableBox.replaceChildren(el('table', { class: 'mini' },
      el('caption', { class: 'sr-only', text: caption }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Bin' }), el('th', { scope: 'col', class: 'num', text: 'Active time' }), el('th', { scope: 'col', class: 'num', text: 'Unique users' }))),
      el('tbody', {}, ...rows)));
  }

  // ---- an app's activity ------------------------------------------------------
  async function loadActivity() {
    const mine = gen();
    const p = periods(state);
    const params = { granularity: state.granularity, start_date: p.start, end_date: p.end };
    if (state.compare && p.cs) { params.compare_start_date = p.cs; params.compare_end_date = p.ce; }
    if (state.departments.length) params.department_ids = state.departments.join(',');
    document.body.dataset.state = 'loading';
    setBusy(true);
    delete $('activity-view').dataset.query;
    $('activity-problem').hidden = true;
    $('activity-status').textContent = 'Loading the app’s activity…';
    try {
      const a = await retrying(async () => (await call('/analytics/apps/' + encodeURIComponent(state.app) + '/activity', params, controller.signal)).json(),
        (text) => { if (mine === gen()) { $('activity-status').textContent = text; $('activity-status').classList.add('waiting'); } }, gen);
      $('activity-status').classList.remove('waiting');
      if (mine !== gen()) return;
      const c = a.app.catalog_app;
      $('activity-title').textContent = c.canonical_name;
      document.title = c.canonical_name + ' · App Metrics · usagelens';
      $('activity-meta').textContent = [c.vendor.name, c.type, c.categories.map((x) => x.name).join(', '),
        a.app.is_favorite ? 'favourite' : '', a.app.is_approved ? 'approved' : 'not approved',
        a.app.license_count === null ? '' : count(a.app.license_count) + ' licenses'].filter(Boolean).join(' · ');
      const totals = $('activity-totals');
      totals.replaceChildren();
      for (const [col, label, fmt] of [['unique_users', 'Unique users', count], ['active_time_ms', 'Active time', duration],
        ['avg_time_ms_per_day', 'Avg time per active ' + UNIT[state.granularity], duration], ['session_count', 'Sessions', count]]) {
        const m = a.totals[col];
        const card = el('div', { class: 'total', 'data-col': col }, el('div', { class: 'total-label', text: label }),
          el('div', { class: 'v', 'data-value': m.value === null ? '' : m.value, text: m.value === null ? DASH : fmt(m.value) }));
        if (state.compare) card.append(el('div', {}, changeSpan(m), ' ', el('span', { class: 'was', 'data-compare-value': m.compare_value === null ? '' : m.compare_value, text: m.compare_value === null ? '' : 'from ' + fmt(m.compare_value) })));
        totals.append(card);
      }
      $('activity-chart-title').textContent = 'Activity per ' + UNIT[a.granularity] + ', ' + humanRange(p.start, p.end);
      drawChart($('activity-chart'), $('activity-table'), a.data.map((b) => ({ start: b.start_date, end: b.end_date, label: binLabel(b.start_date, b.end_date, a.granularity), ms: b.active_time_ms, users: b.unique_users })),
        'Active time and unique users of ' + c.canonical_name + ' per ' + UNIT[a.granularity], { height: 300 });
      // The bins' own sessions and average, next to the chart's two figures.
      const table = $('activity-table').querySelector('table');
      table.tHead.rows[0].append(el('th', { scope: 'col', class: 'num', text: 'Sessions' }), el('th', { scope: 'col', class: 'num', text: 'Avg time per active day' }));
      a.data.forEach((b, i) => table.tBodies[0].rows[i].append(el('td', { class: 'num', 'data-value': b.session_count, text: count(b.session_count) }),
        el('td', { class: 'num', 'data-value': b.avg_time_ms_per_day === null ? '' : b.avg_time_ms_per_day, text: b.avg_time_ms_per_day === null ? DASH : duration(b.avg_time_ms_per_day) })));
      $('activity-status').textContent = a.totals.active_time_ms.value === 0 ? 'This app was not used in the period.' :
        a.data.length === 1 ? 'The period is one ' + UNIT[a.granularity] + ': choose “Average per” active day or week for a finer chart.' : '';
      setBusy(false);
      $('activity-view').dataset.query = new URLSearchParams(params).toString();
      document.body.dataset.state = 'activity';
      if (focusTitle) { focusTitle = false; $('activity-title').focus(); }
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (isSignInError(e)) { showSignIn(signInMessage(e)); return; }
      setBusy(false);
      document.body.dataset.state = 'error';
      $('activity-status').textContent = '';
      $('activity-status').classList.remove('waiting');
      $('activity-problem').hidden = false;
      $('activity-problem-text').textContent = e.status === 404 ? 'This client has no such app.' : explain(e).text;
    }
  }

  // ---- start ------------------------------------------------------------------
  function start() {
    // A link's fragment (#token=…&client=…&as_of=…) signs in without the
    // token ever reaching a server log; it is removed from the address bar
    // at once.
    const frag = new URLSearchParams(location.hash.slice(1));
    readQuery();
    if (isDay(frag.get('as_of'))) state.asOf = frag.get('as_of');
    if (frag.get('token')) {
      sessionStorage.setItem(TOKEN_KEY, frag.get('token'));
      sessionStorage.setItem(CLIENT_KEY, (frag.get('client') || '').toLowerCase() || clientOfToken(frag.get('token')));
    }
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    writeQuery(false);
    wireControls();
    const t = sessionStorage.getItem(TOKEN_KEY);
    client = sessionStorage.getItem(CLIENT_KEY) || '';
    if (t) startSession(t, client); else showSignIn('');
  }
  start();
})();
