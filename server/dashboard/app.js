'use strict';
// mqota's dashboard (docs/dashboard.md): pages drawn from the fleet API,
// polled every second. Every string from the API goes into the page as text
// (text nodes, textContent, attributes set one by one), never as markup, so a
// device id or reason holding "<script>" shows as those characters.
const POLL_MS = 1000;
let role = 'viewer';
let route = null;  // {page, arg, query}: the page shown
let drawn = 0;     // bumped on every route change: late answers are dropped

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k.startsWith('data-') || k === 'id' || k === 'href' || k === 'title') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path, options) {
  const init = Object.assign({credentials: 'same-origin', headers: {'X-Mqota-UI': '1'}}, options || {});
  if (init.body) init.headers['Content-Type'] = 'application/json';
  const r = await fetch('/api/v1/' + path, init);
  if (r.status === 401) { location.href = '/ui/login'; throw new Error('logged out'); }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function table(headers, rows, id) {
  return el('table', id ? {id} : {}, el('thead', {}, el('tr', {}, headers.map(h => el('th', {}, h)))),
            el('tbody', {}, rows));
}

function deviceLink(id) {
  return el('a', {href: '#/device/' + encodeURIComponent(id), 'data-device': id}, id);
}

function time(iso) { return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : ''; }

// ---- Fleet -----------------------------------------------------------------

function fleetForm(query) {
  const input = (name, label) => el('input', {name, placeholder: label, value: query.get(name) || ''});
  return el('form', {class: 'inline', id: 'filter', on: {submit: ev => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const f of ['board', 'version', 'tag', 'state']) {
      const v = ev.target.elements[f].value.trim();
      if (v) q.set(f, v);
    }
    location.hash = '#/fleet' + (q.toString() ? '?' + q : '');
  }}}, input('board', 'board'), input('version', 'version'), input('tag', 'tag'),
     input('state', 'state'), el('button', {type: 'submit'}, 'Filter'));
}

// The versions-over-time chart: stacked areas, one per board and version,
// drawn as SVG elements (attributes set one by one, labels as text).
const SVG_NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#3a7', '#39f', '#e90', '#a5d', '#d44', '#5bc', '#998', '#f7b', '#7a3', '#46a'];
const WINDOWS = [['3600', 'last hour'], ['86400', 'last day'], ['604800', 'last week']];
let historyWindow = '86400';

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function windowPicker() {
  return el('label', {id: 'history-window-label'}, 'Versions over the ',
    el('select', {id: 'history-window', on: {change: ev => { historyWindow = ev.target.value; refresh(); }}},
       WINDOWS.map(([v, label]) => el('option', {value: v, selected: v === historyWindow}, label))));
}

function shortTime(iso, windowSeconds) {
  const t = time(iso);  // 'YYYY-MM-DD HH:MM:SSZ'
  return windowSeconds <= 86400 ? t.slice(11, 16) : t.slice(5, 16);
}

function versionChart(history, board) {
  const series = history.series.filter(s => !board || s.board === board);
  const n = history.times.length;
  const W = 760, H = 200, L = 48, R = 8, T = 8, B = 22;
  const totals = history.times.map((_, k) => series.reduce((sum, s) => sum + s.devices[k], 0));
  const top = Math.max(1, ...totals);
  const x = k => L + (n > 1 ? k * (W - L - R) / (n - 1) : 0);
  const y = v => T + (H - T - B) * (1 - v / top);
  const chart = svg('svg', {id: 'version-chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
                            role: 'img', 'data-points': n});
  chart.append(svg('title', {}, 'Devices by version over time'));
  for (const v of [0, Math.round(top / 2), top]) {
    chart.append(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid'}),
                 svg('text', {x: L - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis'}, v));
  }
  for (const k of [0, Math.floor((n - 1) / 2), n - 1]) {
    if (k < 0) continue;
    chart.append(svg('text', {x: x(k), y: H - 6, class: 'axis',
                              'text-anchor': k === 0 ? 'start' : k === n - 1 ? 'end' : 'middle'},
                     k === n - 1 ? 'now' : shortTime(history.times[k], history.window)));
  }
  const below = new Array(n).fill(0);
  const legend = [];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const upper = s.devices.map((v, k) => below[k] + v);
    let d = '';
    for (let k = 0; k < n; ++k) d += (k ? 'L' : 'M') + x(k).toFixed(1) + ' ' + y(upper[k]).toFixed(1) + ' ';
    for (let k = n - 1; k >= 0; --k) d += 'L' + x(k).toFixed(1) + ' ' + y(below[k]).toFixed(1) + ' ';
    const name = s.board + ' ' + (s.version || '(unknown)');
    const now = s.devices[n - 1] || 0;
    chart.append(svg('g', {class: 'series', 'data-board': s.board, 'data-version': s.version, 'data-now': now},
                     svg('path', {d: d + 'Z', fill: color, 'fill-opacity': 0.75, stroke: color},
                         svg('title', {}, name + ': ' + now + ' now'))));
    legend.push(el('span', {class: 'key', 'data-version': s.version},
                   el('i', {class: 'swatch', 'data-color': color}), name + ' (' + now + ')'));
    for (let k = 0; k < n; ++k) below[k] = upper[k];
  });
  // The swatches' colours: set through the CSSOM, which the page's
  // Content-Security-Policy allows (a style attribute in markup it would not).
  for (const key of legend) { const i = key.firstChild; i.style.background = i.dataset.color; }
  return [chart, el('div', {class: 'legend', id: 'version-legend'},
                    series.length ? legend : 'No devices in this window.')];
}

async function fleet(query) {
  const q = new URLSearchParams({limit: '500'});
  for (const f of ['board', 'version', 'tag']) if (query.get(f)) q.set(f, query.get(f));
  const [summary, list, history] = await Promise.all([
    api('summary'), api('devices?' + q), api('versions/history?window=' + historyWindow)]);
  const state = query.get('state');
  const devices = list.devices.filter(d => !state || d.state === state);
  return [
    el('div', {class: 'cards'},
       el('div', {class: 'card'}, el('b', {id: 'device-count'}, summary.devices), 'devices'),
       el('div', {class: 'card'}, el('b', {id: 'online-count'}, summary.online), 'online'),
       el('div', {class: 'card'}, el('b', {}, summary.campaigns.running || 0), 'campaigns running')),
    el('div', {class: 'chart'}, versionChart(history, query.get('board'))),
    el('h3', {}, 'Versions'),
    table(['board', 'version', 'devices', 'online'], summary.versions.map(v =>
      el('tr', {}, el('td', {}, v.board), el('td', {}, v.version), el('td', {}, v.devices),
         el('td', {}, v.online))), 'versions'),
    el('h3', {}, 'States'),
    table(['state', 'devices'], Object.entries(summary.states).map(([s, n]) =>
      el('tr', {}, el('td', {}, s), el('td', {}, n))), 'states'),
    el('h3', {}, 'Devices (' + devices.length + (list.devices.length >= 500 ? ' of the first 500' : '') + ')'),
    table(['id', 'board', 'version', 'state', 'online', 'last seen', 'tags'], devices.map(d =>
      el('tr', {'data-device': d.id}, el('td', {}, deviceLink(d.id)), el('td', {}, d.board),
         el('td', {class: 'version'}, d.version), el('td', {}, d.state), el('td', {}, d.online ? 'yes' : 'no'),
         el('td', {}, time(d.last_seen)), el('td', {}, d.tags.join(', ')))), 'devices'),
  ];
}

// ---- Campaigns -------------------------------------------------------------

const SEGMENTS = ['confirmed', 'downloading', 'offered', 'reverted', 'failed'];

function waveBar(w) {
  const p = w.progress || {offered: w.in_progress, confirmed: w.confirmed, failed: w.failed,
                           downloading: 0, reverted: 0, waiting: w.waiting};
  const bar = el('div', {class: 'bar', title: 'wave ' + w.wave});
  for (const s of SEGMENTS) {
    const pct = w.devices ? (100 * p[s] / w.devices) : 0;
    const seg = el('span', {class: 'seg-' + s, 'data-count': p[s]});
    seg.style.width = pct + '%';
    bar.append(seg);
  }
  return el('div', {class: 'wave', 'data-wave': w.wave},
    el('div', {}, 'Wave ' + w.wave + (w.open ? '' : ' (not open)') + ': ' + w.devices + ' devices'),
    bar,
    el('div', {class: 'legend'}, SEGMENTS.map(s => el('span', {'data-segment': s}, s + ' ' + p[s])),
       el('span', {}, 'waiting ' + p.waiting)));
}

async function control(c, command) {
  const destructive = command === 'cancel' || (command === 'resume' && c.status === 'halted');
  if (destructive && !confirm(command + ' campaign #' + c.id + ' "' + c.name + '"?')) return;
  try {
    await api('campaigns/' + c.id + '/' + command, {method: 'POST'});
  } catch (e) { alert(e.message); }
  refresh();
}

function campaignCard(c) {
  const r = c.rules;
  const buttons = [];
  if (role === 'operator') {
    if (c.status === 'running') buttons.push(['pause', 'Pause']);
    if (c.status === 'paused' || c.status === 'halted') buttons.push(['resume', 'Resume']);
    if (['running', 'paused', 'halted'].includes(c.status)) buttons.push(['cancel', 'Cancel']);
  }
  return el('div', {class: 'campaign', id: 'campaign-' + c.id, 'data-status': c.status},
    el('h3', {}, '#' + c.id + ' ', c.name, ' — ', c.image.board, ' ', c.image.version, ' ',
       el('span', {class: 'status status-' + c.status}, c.status)),
    c.status_reason ? el('p', {class: 'reason'}, c.status_reason) : null,
    el('p', {}, 'Gate: a wave opens the next when ' + r.success_percent + ' % of it is confirmed after boot' +
       (r.soak_seconds ? ' and ' + r.soak_seconds + ' s passed' : '') + '. Halts above ' +
       r.failure_percent + ' % failed (reverted, rejected, refused, failed). Waves ' + r.waves + '.'),
    c.waves.map(waveBar),
    el('div', {}, buttons.map(([cmd, label]) =>
      el('button', {class: 'cmd-' + cmd, on: {click: () => control(c, cmd)}}, label))));
}

function createForm(images) {
  if (role !== 'operator') return null;
  const msg = el('span', {class: 'error'});
  return el('form', {class: 'inline', id: 'create', on: {submit: async ev => {
    ev.preventDefault();
    const f = ev.target.elements;
    const body = {name: f.name.value, image: Number(f.image.value), waves: f.waves.value,
                  success_percent: Number(f.success.value), failure_percent: Number(f.failure.value)};
    try {
      await api('campaigns', {method: 'POST', body: JSON.stringify(body)});
      msg.textContent = '';
      refresh();
    } catch (e) { msg.textContent = e.message; }
  }}},
    el('input', {name: 'name', placeholder: 'name', required: true}),
    el('select', {name: 'image'}, images.map(i => el('option', {value: i.id}, i.board + ' ' + i.version))),
    el('input', {name: 'waves', value: '1,10%,100%', size: 10, title: 'waves'}),
    el('input', {name: 'success', value: '90', size: 3, title: 'success gate %'}),
    el('input', {name: 'failure', value: '10', size: 3, title: 'failure threshold %'}),
    el('button', {type: 'submit'}, 'Create campaign'), msg);
}

async function campaigns() {
  const list = await api('campaigns');
  return list.campaigns.length ? list.campaigns.map(campaignCard) : [el('p', {}, 'No campaigns yet.')];
}

// ---- Device ----------------------------------------------------------------

async function device(id) {
  const d = await api('devices/' + encodeURIComponent(id) + '?history=200');
  const barred = new Set(), previous = new Set();
  for (const e of d.history) {
    if (['reverted', 'rejected', 'refused'].includes(e.event)) barred.add(e.version);
    if (e.event === 'confirmed' && e.version !== d.version) previous.add(e.version);
  }
  const last = d.history[0];
  const progress = last && last.event === 'downloading'
    ? el('p', {id: 'progress'}, 'Downloading ' + last.version + ': ',
         el('progress', {class: 'progress', max: 100, value: last.percent || 0}), ' ' + (last.percent || 0) + ' %')
    : null;
  return [
    el('h2', {id: 'device-id'}, d.id),
    table(['board', 'version', 'state', 'online', 'verified', 'last seen', 'tags'], [el('tr', {},
      el('td', {}, d.board), el('td', {id: 'device-version'}, d.version), el('td', {}, d.state),
      el('td', {}, d.online ? 'yes' : 'no'), el('td', {}, d.verified ? 'yes' : 'no'),
      el('td', {}, time(d.last_seen)), el('td', {}, d.tags.join(', ')))]),
    progress,
    el('p', {}, 'Previous versions: ' + ([...previous].join(', ') || 'none')),
    el('p', {id: 'barred'}, 'Barred versions (never offered again): ' + ([...barred].join(', ') || 'none')),
    el('h3', {}, 'Timeline'),
    table(['time', 'event', 'version', 'progress', 'reason', 'campaign'], d.history.map(e =>
      el('tr', {'data-event': e.event}, el('td', {}, time(e.time)), el('td', {}, e.event),
         el('td', {}, e.version), el('td', {}, e.percent === undefined ? '' : e.percent + ' %'),
         el('td', {class: 'reason'}, e.reason || ''), el('td', {}, e.campaign || ''))), 'timeline'),
  ];
}

// ---- Images ----------------------------------------------------------------

async function images() {
  const [list, cs] = await Promise.all([api('images'), api('campaigns')]);
  return [table(['id', 'board', 'version', 'size', 'sha256', 'signing key (SHA-256)', 'added', 'campaigns'],
                list.images.map(i =>
    el('tr', {'data-image': i.id}, el('td', {}, i.id), el('td', {}, i.board), el('td', {class: 'version'}, i.version),
       el('td', {}, i.size + ' bytes'), el('td', {}, el('code', {}, i.sha256)),
       el('td', {class: 'key-hash'}, i.key_hash ? el('code', {}, i.key_hash) : 'unsigned'), el('td', {}, time(i.added)),
       el('td', {}, cs.campaigns.filter(c => c.image.id === i.id)
                      .map(c => '#' + c.id + ' ' + c.name + ' (' + c.status + ')').join('; ')))), 'images')];
}

// ---- Routing and polling ---------------------------------------------------

function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, qs] = hash.split('?');
  const [page, ...rest] = path.split('/');
  return {page: page || 'fleet', arg: decodeURIComponent(rest.join('/')), query: new URLSearchParams(qs || '')};
}

async function refresh() {
  const mine = drawn;
  const r = route;
  const live = document.getElementById('live');
  if (!live) return;
  try {
    let nodes;
    if (r.page === 'campaigns') nodes = await campaigns();
    else if (r.page === 'device') nodes = await device(r.arg);
    else if (r.page === 'images') nodes = await images();
    else nodes = await fleet(r.query);
    if (mine !== drawn) return;
    live.replaceChildren(...nodes.filter(n => n));
    document.getElementById('updated').textContent = new Date().toISOString();
  } catch (e) {
    if (mine === drawn) live.replaceChildren(el('p', {class: 'error'}, e.message));
  }
}

async function show() {
  route = parseRoute();
  ++drawn;
  const main = document.getElementById('main');
  const head = [];
  if (route.page === 'fleet' || route.page === '') {
    head.push(el('h2', {}, 'Fleet'), fleetForm(route.query), windowPicker());
  }
  if (route.page === 'campaigns') {
    head.push(el('h2', {}, 'Campaigns'));
    try { head.push(createForm((await api('images')).images)); } catch (e) { /* shown by refresh */ }
  }
  if (route.page === 'images') head.push(el('h2', {}, 'Images'));
  main.replaceChildren(...head.filter(n => n), el('div', {id: 'live'}));
  await refresh();
}

document.addEventListener('DOMContentLoaded', async () => {
  try {
    const r = await fetch('/ui/session.json', {credentials: 'same-origin'});
    if (r.status === 401) { location.href = '/ui/login'; return; }
    role = (await r.json()).role;
  } catch (e) { /* viewer */ }
  document.getElementById('session').textContent = 'logged in as ' + role;
  window.addEventListener('hashchange', show);
  await show();
  setInterval(refresh, POLL_MS);
});
