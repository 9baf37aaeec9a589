// The event browser page's script: plain DOM code on the browser API, no framework and no build step.
export const BROWSER_SCRIPT = String.raw`
const $ = (selector) => document.querySelector(selector);
const view = $('#view');
const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const link = (hash, text) => '<a href="#' + hash + '">' + esc(text) + '</a>';
const json = (value) => '<pre>' + esc(JSON.stringify(value, null, 2)) + '</pre>';

async function api(path, options = {}) {
  const token = localStorage.getItem('browserToken');
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  const response = await fetch('/browser/api/' + path, { ...options, headers });
  if (response.status === 401) {
    const entered = prompt('This API asks for a bearer token (API_TOKEN):');
    if (entered) { localStorage.setItem('browserToken', entered); return api(path, options); }
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || response.statusText);
  return body;
}

function eventItem(event) {
  return '<li class="event" data-testid="event"><details><summary>' + esc(event.version) + ' · <b>' + esc(event.type) + '</b> · ' +
    esc(event.recordedAt) + ' · ' + link('event/' + event.eventId, 'details') + '</summary>' + json({ data: event.data, metadata: event.metadata }) + '</details></li>';
}

async function showStream(streamId, route) {
  const path = 'streams/' + encodeURIComponent(streamId);
  const page = await api(path + '?limit=200');
  // The slider spans the whole stream, however many of its events are listed: its version comes from the stream list.
  const [summary] = (await api('streams?limit=1&prefix=' + encodeURIComponent(streamId))).streams;
  const listed = page.events.length ? page.events[page.events.length - 1].version : 0;
  const last = summary && summary.streamId === streamId ? summary.version : listed;
  if (!stillShown(route)) return;
  view.innerHTML = '<h2>Stream ' + esc(streamId) + '</h2>' +
    '<label>State at version <input id="slider" data-testid="state-slider" type="range" min="1" max="' + last + '" value="' + last + '"> <span id="at" data-testid="state-version">' + last + '</span></label>' +
    '<div id="state" data-testid="state"></div><ul id="events">' + page.events.map(eventItem).join('') + '</ul>' +
    '<button id="more" data-testid="more-events">Load more</button>';
  let cursor = page.nextCursor;
  const more = $('#more');
  more.hidden = !cursor;
  more.addEventListener('click', async () => {
    const next = await api(path + '?limit=200&cursor=' + encodeURIComponent(cursor));
    $('#events').insertAdjacentHTML('beforeend', next.events.map(eventItem).join(''));
    cursor = next.nextCursor;
    more.hidden = !cursor;
  });
  const showState = async (version) => {
    $('#at').textContent = version;
    try { $('#state').innerHTML = json((await api('streams/' + encodeURIComponent(streamId) + '/state?version=' + version)).state); }
    catch (error) { $('#state').textContent = error.message; }
  };
  $('#slider').addEventListener('input', (e) => showState(e.target.value));
  if (last > 0) await showState(last);
}

async function showEvent(eventId, route) {
  const { event, links } = await api('events/' + eventId + '?original=true');
  if (!stillShown(route)) return;
  const to = (href, hash, text) => (href ? link(hash, text) : '');
  view.innerHTML = '<h2>Event ' + esc(event.type) + '</h2><p>' + link('stream/' + event.streamId, event.streamId + '@' + event.version) + ' ' +
    to(links.correlation, 'correlation/' + (event.metadata.correlationId || ''), 'its correlation') + ' ' +
    to(links.causedBy, 'event/' + (event.metadata.causationId || ''), 'what caused it') + '</p>' + json(event);
}

function treeNode(node) {
  const label = node.kind === 'event' ? link('event/' + node.id, node.label) : '<span class="command">' + esc(node.label) + '</span>';
  return '<li data-testid="story-' + node.kind + '">' + label + (node.children.length ? '<ul>' + node.children.map(treeNode).join('') + '</ul>' : '') + '</li>';
}

async function showCorrelation(correlationId, route) {
  const story = await api('correlations/' + encodeURIComponent(correlationId));
  if (!stillShown(route)) return;
  view.innerHTML = '<h2>Correlation ' + esc(correlationId) + '</h2><p>' + story.commands.length + ' commands, ' + story.events.length + ' events</p>' +
    '<ul class="tree" data-testid="story">' + story.tree.map(treeNode).join('') + '</ul>';
}

async function showTrace(traceId, route) {
  const { correlations } = await api('traces/' + traceId);
  await showCorrelation(correlations[0], route);
}

async function showSaga(sagaId, route) {
  const { instances } = await api('sagas/' + encodeURIComponent(sagaId));
  if (!stillShown(route)) return;
  view.innerHTML = instances.map((instance) => '<h2>Saga ' + esc(instance.saga) + ' ' + esc(instance.sagaId) + ' · <span data-testid="saga-phase">' + esc(instance.phase) + '</span></h2>' +
    '<h3>Timeline</h3><ol data-testid="saga-timeline">' + instance.inputs.map((input) => '<li>' + esc(input.at) + ' ' + esc(input.kind) + ' ' + esc(JSON.stringify(input.summary)) + '</li>').join('') + '</ol>' +
    '<h3>Steps</h3><ol>' + instance.steps.map((step) => '<li>' + esc(step.kind) + ' ' + esc(step.commandType) + ' · ' + esc(step.status) + '</li>').join('') + '</ol>' +
    '<h3>Pending timeouts</h3>' + json(instance.timeouts) + '<h3>State</h3>' + json(instance.state)).join('');
}

async function showHealth(_, route = routes) {
  const [{ projections }, publishing, sagas] = await Promise.all([api('projections'), api('publishing'), api('sagas?limit=20')]);
  if (!stillShown(route)) return;
  const lag = (generation) => generation.partitions.reduce((sum, p) => sum + p.lagEvents, 0);
  view.innerHTML = '<h2>Projections</h2><table>' + projections.map((p) => p.generations.map((g) => '<tr><td>' + esc(p.name) + '</td><td>g' + g.generation + ' ' + esc(g.status) + '</td><td>lag ' + lag(g) + '</td></tr>').join('')).join('') + '</table>' +
    '<h2>Publishing</h2><p data-testid="backlog">backlog ' + (publishing.events.backlog + publishing.outbox.backlog) + ', parked ' + publishing.parkedCount + ', requeued ' + publishing.requeuedCount + '</p><p class="error" data-testid="action-error" hidden></p><ul>' +
    publishing.parked.map((m) => '<li data-testid="parked">' + esc(m.subject) + ' ' + esc(m.error) + parkedButtons(m) + '</li>').join('') + '</ul>' +
    '<h2>Recent sagas</h2><ul>' + sagas.sagas.map((s) => '<li>' + link('saga/' + s.sagaId, s.saga + ' ' + s.sagaId) + ' ' + esc(s.phase) + '</li>').join('') + '</ul>';
  for (const button of document.querySelectorAll('[data-parked-action]')) button.addEventListener('click', () => parkedAction(button.dataset));
}

// A requeued one may still be discarded when nothing can send it (its event or outbox row gone); otherwise the refusal says why not.
function parkedButtons(m) {
  const button = (action, label) => ' <button data-parked-action="' + action + '" data-id="' + esc(m.messageId) + '" data-source="' + esc(m.source) + '">' + label + '</button>';
  return (m.requeuedAt ? (m.onItsWay ? ' (requeued)' : ' (requeued, nothing to send)') : button('requeue', 'Requeue')) + button('discard', 'Discard');
}

// A discard cannot be undone: asked first. A refusal (not passed yet, requeued meanwhile) is shown, not swallowed.
async function parkedAction({ parkedAction: action, id, source }) {
  if (action === 'discard' && !confirm('Discard this message for good? It will never be sent.')) return;
  try {
    await api('publishing/parked/' + encodeURIComponent(id) + '/' + action + '?source=' + encodeURIComponent(source), { method: 'POST' });
    await showHealth();
  } catch (error) {
    const line = $('[data-testid="action-error"]');
    line.textContent = error.message;
    line.hidden = false;
  }
}

const VIEWS = { stream: showStream, event: showEvent, correlation: showCorrelation, trace: showTrace, saga: showSaga, health: showHealth };
const PRIORITY = ['correlation', 'event', 'stream', 'trace', 'saga'];

// Each route's views render only while it is the latest: a slow one (the health view the
// page opens on) must not replace what a later search already shows.
let routes = 0;
const stillShown = (route) => route === routes;

async function route() {
  const [kind, ...rest] = decodeURIComponent(location.hash.slice(1)).split('/');
  const show = VIEWS[kind] || showHealth;
  const mine = ++routes;
  view.innerHTML = 'Loading…';
  try { await show(rest.join('/'), mine); } catch (error) { if (stillShown(mine)) view.innerHTML = '<p class="error" data-testid="error">' + esc(error.message) + '</p>'; }
}

$('#search').addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = $('#q').value.trim();
  const asked = routes;
  const { matches } = await api('search?q=' + encodeURIComponent(q));
  const best = PRIORITY.map((kind) => matches.find((m) => m.kind === kind)).find(Boolean);
  // A route started while the search was asked is the user's later choice: it stands.
  if (asked !== routes) return;
  if (!best) { routes += 1; view.innerHTML = '<p class="error" data-testid="error">Nothing has the id ' + esc(q) + '</p>'; return; }
  location.hash = best.kind + '/' + encodeURIComponent(q);
});
window.addEventListener('hashchange', route);
route();
`;
