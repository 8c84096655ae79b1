// @ts-check
/*! hub website chat widget: one dependency-free ES2017 file, no build step. Docs: docs/widget.md
 * <script src="https://HUB/widget.js" data-channel="WEBSITE_TOKEN" async></script>
 * data-lang (ru|en), data-position (right|left), data-color, data-greeting, data-hub.
 * Elements marked data-hub-phone (="national" for 8 (495) …) show a tracking number of the site's pool.
 * window.Hub: open(), close(), identify({identifier, identifier_hash, name, email}).
 */
(() => {
'use strict';
// Types for the checker (`make check`): types/widget.d.ts.
const W = window, D = document;
if (W.Hub && typeof W.Hub.identify === 'function') return; // loaded twice
const warn = (/** @type {unknown[]} */ ...a) => { try { console.warn('[hub widget]', ...a); } catch (e) { /* */ } };
const found = D.currentScript || D.querySelector('script[data-channel]');
const script = found instanceof HTMLScriptElement ? found : null;
/** @type {DOMStringMap} */
const ds = (script && script.dataset) || {};
const TOKEN = (ds.channel || '').trim();
let BASE = '';
try { BASE = ds.hub ? new URL(ds.hub, location.href).href : script ? new URL(script.src, location.href).origin : ''; } catch (e) { /* */ }
BASE = BASE.replace(/\/+$/, '');
const queued = W.Hub && Array.isArray(W.Hub.q) ? W.Hub.q : [];

/** @type {Record<string, Record<string, string>>} */
const T = {
  ru: {
    open: 'Открыть чат', close: 'Свернуть чат', chat: 'Чат', online: 'Операторы на связи',
    offline: 'Сейчас нет операторов на связи', op: 'оператор', typing: '{n} печатает…', typingOp: 'Оператор печатает…',
    ph: 'Напишите сообщение…', send: 'Отправить', sending: 'Отправляется…', failed: 'Не доставлено',
    retry: 'Повторить', long: 'Слишком длинное сообщение', rate: 'Слишком часто, подождите немного',
    conn: 'Нет связи, переподключаемся…', cb: 'Перезвоните мне', cbTitle: 'Обратный звонок',
    cbIntro: 'Оставьте номер — менеджер перезвонит в удобное время.', phone: 'Телефон', name: 'Имя',
    email: 'Эл. почта', when: 'Когда позвонить', wAsap: 'Как можно скорее', wToday: 'Сегодня после',
    wMorning: 'Завтра утром', wAt: 'Выбрать время', badTime: 'Проверьте время', cbAsked: 'Перезвоните мне: {p}',
    cbWill: 'Позвоним {w}', soon: 'в ближайшее время', today: 'сегодня в {t}', todayAfter: 'сегодня после {t}',
    tomorrow: 'завтра в {t}', on: '{d} в {t}',
    cbGo: 'Жду звонка', back: 'Назад к чату', preTitle: 'Представьтесь, пожалуйста',
    preIntro: 'Так мы сможем ответить, даже если вы уйдёте со страницы.', preGo: 'Начать чат',
    req: 'Заполните это поле', badPhone: 'Проверьте номер телефона', badEmail: 'Проверьте адрес почты',
    error: 'Не получилось, попробуйте ещё раз', offNote: 'Оставьте почту или телефон — мы ответим.',
    offField: 'Почта или телефон', offGo: 'Оставить', thanks: 'Ответим сюда: {v}', you: 'Вы',
    unread: 'новых сообщений: {n}', hide: 'Скрыть',
    attach: 'Прикрепить файл', file: 'Файл', upl: 'Загружается…', big: 'Файл больше {n} МБ',
    kb: '{n} КБ', mb: '{n} МБ',
    rateQ: 'Оцените, пожалуйста, как мы вам помогли', rateN: 'Оценка {n} из 5',
    rateC: 'Комментарий (необязательно)', rateGo: 'Отправить оценку', rateThx: 'Спасибо за оценку!',
    busy: 'Похоже, все операторы сейчас заняты', ansToday: 'Ответим сегодня с {x}',
    ansTomorrow: 'Ответим завтра с {x}', ansDay: 'Ответим {d} с {x}', d_mon: 'в понедельник',
    d_tue: 'во вторник', d_wed: 'в среду', d_thu: 'в четверг', d_fri: 'в пятницу', d_sat: 'в субботу',
    d_sun: 'в воскресенье',
  },
  en: {
    open: 'Open chat', close: 'Minimise chat', chat: 'Chat', online: 'We are online',
    offline: 'No operator is online right now', op: 'operator', typing: '{n} is typing…', typingOp: 'Operator is typing…',
    ph: 'Write a message…', send: 'Send', sending: 'Sending…', failed: 'Not delivered',
    retry: 'Retry', long: 'The message is too long', rate: 'Too fast, please wait a moment',
    conn: 'Connection lost, reconnecting…', cb: 'Call me back', cbTitle: 'Call me back',
    cbIntro: 'Leave your number and we will call you when it suits you.', phone: 'Phone', name: 'Name',
    email: 'Email', when: 'When to call', wAsap: 'As soon as possible', wToday: 'Today after',
    wMorning: 'Tomorrow morning', wAt: 'Pick a time', badTime: 'Please check the time', cbAsked: 'Please call me back: {p}',
    cbWill: 'We will call {w}', soon: 'shortly', today: 'today at {t}', todayAfter: 'today after {t}',
    tomorrow: 'tomorrow at {t}', on: 'on {d} at {t}',
    cbGo: 'Request a call', back: 'Back to chat', preTitle: 'Please introduce yourself',
    preIntro: 'So that we can answer even if you leave the page.', preGo: 'Start chat',
    req: 'Please fill in this field', badPhone: 'Please check the phone number',
    badEmail: 'Please check the email address', error: 'Something went wrong, please try again',
    offNote: 'Leave your email or phone and we will answer.', offField: 'Email or phone',
    offGo: 'Send', thanks: 'We will answer to: {v}', you: 'You', unread: 'new messages: {n}', hide: 'Dismiss',
    attach: 'Attach a file', file: 'File', upl: 'Uploading…', big: 'The file is larger than {n} MB',
    kb: '{n} KB', mb: '{n} MB',
    rateQ: 'How did we do? Please rate this chat', rateN: 'Rating {n} of 5',
    rateC: 'Comment (optional)', rateGo: 'Send rating', rateThx: 'Thank you for your rating!',
    busy: 'All our operators seem to be busy', ansToday: 'We will answer today from {x}',
    ansTomorrow: 'We will answer tomorrow from {x}', ansDay: 'We will answer {d} from {x}', d_mon: 'on Monday',
    d_tue: 'on Tuesday', d_wed: 'on Wednesday', d_thu: 'on Thursday', d_fri: 'on Friday', d_sat: 'on Saturday',
    d_sun: 'on Sunday',
  },
};
const pick = (/** @type {unknown} */ v) => { const l = String(v || '').toLowerCase().slice(0, 2); return T[l] ? l : ''; };
let lang = pick(ds.lang) || pick(D.documentElement.lang);
/** @param {string} k @param {Record<string, string | number>} [v] */
const t = (k, v = {}) => T[lang || 'ru'][k].replace(/\{(\w)\}/g, (_, x) => String(v[x]));

// localStorage, one key set per website token; memory where storage is blocked.
const KEY = 'hub.widget.' + TOKEN + '.', mem = /** @type {Record<string, unknown>} */ ({});
/** @param {string} k @returns {any} */
const load = (k) => {
  try { const v = W.localStorage.getItem(KEY + k); return v == null ? null : JSON.parse(v); } catch (e) { return k in mem ? mem[k] : null; }
};
const save = (/** @type {string} */ k, /** @type {unknown} */ v) => { mem[k] = v; try { W.localStorage.setItem(KEY + k, JSON.stringify(v)); } catch (e) { /* */ } };
/** @returns {Outgoing[]} */
const outbox = () => { const o = load('outbox'); return Array.isArray(o) ? o : []; };
const unqueue = (/** @type {string} */ cid) => save('outbox', outbox().filter((x) => x.id !== cid));
const uuid = () => {
  try { if (W.crypto.randomUUID) return W.crypto.randomUUID(); } catch (e) { /* not a secure context */ }
  const a = W.crypto.getRandomValues(new Uint8Array(16));
  a[6] = (a[6] & 15) | 64; a[8] = (a[8] & 63) | 128;
  const x = Array.from(a, (b) => (b + 256).toString(16).slice(1)).join('');
  return [x.slice(0, 8), x.slice(8, 12), x.slice(12, 16), x.slice(16, 20), x.slice(20)].join('-');
};

// Every network call resolves to {ok, status, data, code}; nothing throws.
/** @param {string} method @param {string} path @param {object | FormData | null} [body] @param {boolean} [withToken] @param {number} [ms] @returns {Promise<WidgetAnswer>} */
async function api(method, path, body, withToken, ms) {
  if (S.halted) return { ok: false, status: 0, data: {}, code: 'halted' };
  const ctl = W.AbortController && new AbortController();
  const timer = ctl && setTimeout(() => ctl.abort(), ms || 15000);
  try {
    /** @type {Record<string, string>} */
    const headers = {};
    const form = body instanceof FormData; // a file: the browser writes its multipart type
    if (body && !form) headers['Content-Type'] = 'application/json';
    if (withToken) headers['X-Visitor-Token'] = String(S.vt);
    const res = await fetch(BASE + path, {
      method, headers, body: form ? body : body ? JSON.stringify(body) : undefined,
      credentials: 'omit', mode: 'cors', cache: 'no-store', signal: ctl ? ctl.signal : undefined,
    });
    /** @type {WidgetJson} */
    let data = {};
    try { data = (await res.json()) || {}; } catch (e) { /* not JSON */ }
    return { ok: res.ok, status: res.status, data, code: (data.error && data.error.code) || '' };
  } catch (e) {
    return { ok: false, status: 0, data: {}, code: 'network' };
  } finally { clearTimeout(timer); }
}

/** @type {WidgetState} */
const S = {
  vt: load('vt'), channel: null, contact: {}, online: true, isOpen: false, want: false, identity: null,
  msgs: new Map(), pend: new Map(), lastId: 0, read: load('read'), opName: '', ws: null, ready: false,
  gen: 0, attempt: 0, fails: 0, rest: false, sent: new Map(), holdUntil: 0, prechat: false, view: 'chat',
  lastTyping: 0, lastFrame: 0, greetUnread: false, greetEl: null, rating: null, score: 0,
  hours: null, noAnswer: false, halted: false,
};
/** @type {Record<string, number | undefined>} */
const timers = {};
/** @template {unknown[]} A @param {(...a: A) => unknown} fn @returns {(...a: A) => unknown} */
function guard(fn) {
  return (...a) => {
    try { const r = fn(...a); if (r instanceof Promise) r.catch(warn); return r; } catch (e) { warn(e); }
  };
}
/** @param {string} name @param {() => unknown} fn @param {number} ms */
const later = (name, fn, ms) => { clearTimeout(timers[name]); if (!S.halted) timers[name] = setTimeout(guard(fn), ms); };
const backoff = (/** @type {number} */ n) => { const d = Math.min(30000, 1000 * 2 ** n); return d / 2 + (Math.random() * d) / 2; };

// ---- session: on every page view (first/last touch), after identify() and on a stale token ----
/** @type {Promise<boolean | void> | null} */
let sessionBusy = null;
const session = () => sessionBusy || (sessionBusy = runSession().catch(warn).then((ok) => { sessionBusy = null; return ok; }));
/** @returns {Promise<boolean>} */
async function runSession() {
  /** @type {{website_token: string, page: object, visitor_token?: string} & HubIdentity} */
  const body = Object.assign({
    website_token: TOKEN, page: { url: location.href, title: D.title || '', referrer: D.referrer || '' },
  }, S.identity);
  if (S.vt) body.visitor_token = S.vt;
  const r = await api('POST', '/api/widget/v1/sessions', body);
  if (!r.ok) {
    if (r.code === 'origin_not_allowed') return halt('this site (' + location.origin + ') is not allowed for this channel; add it to allowed_origins');
    if (r.code === 'unknown_website_token') return halt('no widget channel has the website token "' + TOKEN + '"; check data-channel');
    if (S.halted) return false;
    if (r.status && r.status < 500 && r.status !== 429 && r.status !== 408) {
      warn('session refused:', r.code || r.status, (r.data.error && r.data.error.message) || '');
    } else later('session', session, backoff(S.attempt++));
    return false;
  }
  const d = r.data;
  if (!d.visitor_token || !d.channel) return false;
  S.attempt = 0;
  if (d.visitor_token !== S.vt) {
    if (S.vt) reset();
    save('vt', (S.vt = d.visitor_token));
  }
  guard(phoneNumber)();
  S.channel = d.channel;
  S.hours = d.working_hours || null;
  S.contact = d.contact || {};
  if (S.channel.require_identity && !S.identity) return false; // shown once Hub.identify() is called
  lang = lang || pick(S.channel.lang) || 'ru';
  await build();
  setOnline(d.operators_online !== false);
  (d.messages || []).forEach((/** @type {WidgetJson} */ m) => addMsg(m, null, true));
  askRating(d.rating_request);
  if (S.read == null) save('read', (S.read = S.lastId));
  if (!S.greetEl) greetingEl();
  outbox().forEach(pendingEl);
  scheduleGreeting();
  updateBadge();
  if (!S.isOpen && (S.want || (load('open') && W.innerWidth > 480))) openWin(S.want);
  if (wanted()) connect();
  return true;
}
// ---- dynamic number insertion: the page's [data-hub-phone] numbers become one of the site's
// pool, held for this visitor while the page is open (renewed), so his call is his visit's ----
/** @returns {Promise<void>} */
async function phoneNumber() {
  if (!D.querySelector('[data-hub-phone]')) return; // asks only where a number is marked
  const page = { url: location.href, title: D.title || '', referrer: D.referrer || '' };
  const r = await api('POST', '/api/widget/v1/phone-number', { page }, true);
  if (!r.ok) { // the page keeps the number it shows; only a passing failure is tried again
    if (!r.status || r.status >= 500 || r.status === 429) later('phone', phoneNumber, 60000);
    return;
  }
  const d = r.data || {};
  if (typeof d.number === 'string' && d.number) showPhone(d);
  if (d.renew_in_seconds > 0) later('phone', phoneNumber, d.renew_in_seconds * 1000);
}
/** Text (when the element holds only text) and tel: links, in and around each element. @param {WidgetJson} d */
function showPhone(d) {
  D.querySelectorAll('[data-hub-phone]').forEach((el) => {
    const text = el.getAttribute('data-hub-phone') === 'national' ? d.national : d.international;
    if (!el.children.length && typeof text === 'string' && text) el.textContent = text;
    [el.closest('a[href^="tel:"]'), ...Array.from(el.querySelectorAll('a[href^="tel:"]'))].forEach((a) => {
      if (a) a.setAttribute('href', 'tel:' + d.number);
    });
  });
}
/** A refusal that no retry can change: one message, then no request, socket or timer again,
 * and nothing left on the page. @param {string} why @returns {false} */
function halt(why) {
  S.halted = true;
  drop();
  Object.keys(timers).forEach((k) => clearTimeout(timers[k]));
  if (ui) ui.remove();
  ui = null;
  warn(why);
  return false;
}
function reset() {
  drop();
  S.msgs.forEach((el) => el.remove());
  S.pend.forEach((el) => el.remove());
  S.msgs.clear(); S.pend.clear(); S.sent.clear();
  S.lastId = 0; S.opName = ''; save('read', (S.read = 0));
  forgetFiles();
  stopRating();
}

// ---- WebSocket, with backoff, ping, catch-up, and REST polling when sockets keep failing ----
const wanted = () => S.isOpen || S.msgs.size > 0 || outbox().length > 0;
function connect() {
  if (S.ws || !S.vt || !ui || S.halted) return;
  clearTimeout(timers.connect);
  let ws;
  try { ws = new WebSocket(BASE.replace(/^http/, 'ws') + '/ws/widget?visitor_token=' + encodeURIComponent(S.vt)); } catch (e) { return lost(null, 0); }
  S.gen++;
  S.ws = ws;
  ws.onmessage = guard((ev) => {
    if (S.ws !== ws) return;
    S.lastFrame = Date.now();
    let f;
    try { f = JSON.parse(ev.data); } catch (e) { return; }
    if (f && typeof f === 'object') onFrame(f);
  });
  ws.onclose = guard((ev) => lost(ws, ev.code));
  ws.onerror = () => {};
  later('hello', () => { if (S.ws === ws && !S.ready) lost(ws, 0); }, 15000);
}
function drop() {
  const ws = S.ws;
  S.ws = null; S.ready = false;
  if (ws) { ws.onclose = ws.onmessage = null; try { ws.close(1000); } catch (e) { /* */ } }
}
/** @param {WebSocket | null} ws @param {number} code */
function lost(ws, code) {
  if (ws && S.ws !== ws) return;
  const wasReady = S.ready;
  drop();
  S.sent.clear();
  if (!wasReady && ++S.fails >= 3 && !S.rest) { S.rest = true; poll(); }
  later('bar', () => bar(!S.ready && !S.rest), 2500);
  // Refused before 'ready' may mean a stale visitor token: a session call checks it.
  const check = !wasReady || (code >= 4000 && code < 5000);
  later('connect', async () => { if (check) await session(); connect(); }, backoff(S.attempt++));
}
/** @param {object} f a frame */
function wsSend(f) {
  if (!S.ready || !S.ws) return false;
  try { S.ws.send(JSON.stringify(f)); return true; } catch (e) { return false; }
}
/** @param {WidgetJson} f */
function onFrame(f) {
  const ty = f.type;
  if (ty === 'ready') {
    S.ready = true; S.fails = S.attempt = 0; S.rest = false;
    clearTimeout(timers.poll); clearTimeout(timers.hello);
    bar(false);
    S.hours = f.working_hours || null;
    setOnline(f.operators_online !== false);
    flush(); sync();
    later('ping', ping, 25000);
  } else if (ty === 'ack') {
    if (f.client_id) { unqueue(f.client_id); S.sent.delete(f.client_id); }
    addMsg(f.message, f.client_id);
  } else if (ty === 'message') addMsg(f.message);
  else if (ty === 'typing') { if (f.active === false) hideTyping(); else showTyping(f.sender && f.sender.name); }
  else if (ty === 'presence') setOnline(f.operators_online !== false);
  else if (ty === 'rating_request') askRating(f);
  else if (ty === 'error') onError(f.code, f.client_id, f.message);
}
function ping() {
  if (!S.ready) return;
  if (Date.now() - S.lastFrame > 60000) return lost(S.ws, 0); // silent socket: a dead network
  wsSend({ type: 'ping' });
  later('ping', ping, 25000);
}
/** @type {Promise<void> | null} */
let syncing = null;
function sync() {
  return syncing || (syncing = (async () => {
    const r = await api('GET', '/api/widget/v1/messages?after=' + S.lastId, null, true);
    if (r.ok) { (r.data.items || []).forEach((/** @type {WidgetJson} */ m) => addMsg(m)); askRating(r.data.rating_request); }
    else if (r.status === 401 || r.status === 403 || r.status === 404) await session();
  })().catch(warn).then(() => { syncing = null; }));
}
async function poll() {
  if (!S.rest || S.ready) return;
  await restFlush();
  await sync();
  later('poll', poll, D.hidden ? 30000 : S.isOpen ? 3000 : 10000);
}

// ---- sending: outbox in localStorage until acked; re-sent with the same client_id ----
/** @param {string} body */
function send(body) {
  body = body.trim();
  if (!body) return;
  const item = { id: uuid(), body, t: Date.now() };
  const max = (S.channel && S.channel.max_message_chars) || 5000;
  if (body.length > max) {
    // Refused here: a frame the hub would refuse could otherwise sit in the outbox forever.
    pendingEl(item);
    failEl(item.id, t('long'));
    return;
  }
  save('outbox', outbox().concat([item]));
  stopRating(); // writing again opens the conversation again: nothing to rate now
  pendingEl(item);
  scrollDown(true);
  connect();
  flush();
}
let flushing = false;
function flush() {
  if (S.prechat || Date.now() < S.holdUntil) return;
  if (!S.ready) return S.rest && restFlush();
  outbox().forEach((it) => {
    if (S.sent.get(it.id) !== S.gen && wsSend({ type: 'message', client_id: it.id, body: it.body })) S.sent.set(it.id, S.gen);
  });
}
async function restFlush() {
  if (flushing) return;
  flushing = true;
  try {
    for (const it of outbox()) {
      if (S.prechat || Date.now() < S.holdUntil || S.ready) break;
      const r = await api('POST', '/api/widget/v1/messages', { client_id: it.id, body: it.body }, true);
      if (r.ok) { unqueue(it.id); addMsg(r.data.message, it.id); } else if (r.status === 401 || r.status === 403) { await session(); break; } else if (!r.status || r.status >= 500) break;
      else onError(r.code, it.id, r.data.error && r.data.error.message);
    }
  } finally { flushing = false; }
}
/** @param {string} code @param {string | null | undefined} cid @param {string} [message] */
function onError(code, cid, message) {
  if (code === 'rate_limited') {
    if (!cid) return;
    S.sent.delete(cid);
    S.holdUntil = Date.now() + 4000;
    later('hold', flush, 4100);
    bar(true, t('rate'));
    later('bar', () => bar(false), 4000);
  } else if (code === 'prechat_required') {
    if (cid) S.sent.delete(cid);
    S.prechat = true;
    if (S.isOpen) show('pre');
  } else if (cid) {
    unqueue(cid); S.sent.delete(cid);
    failEl(cid, code === 'body_too_long' ? t('long') : t('failed'));
    warn('message refused:', code, message || '');
  } else if (code) warn('error:', code, message || '');
}

// ---- DOM: built only with createElement and text; the styles live in a shadow root ----
/** @type {HTMLElement | null} */
let ui = null;
const $ = /** @type {WidgetParts} */ ({}); // filled by build() before any use (all check `ui` first)
/** @type {Record<string, string>} */
const P = {
  chat: 'M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM6 9h12v2H6zm8 5H6v-2h8zm4-6H6V6h12z',
  x: 'M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z',
  down: 'M7.41 8.59 12 13.17l4.59-4.58L18 10l-6 6-6-6z',
  send: 'M2.01 21 23 12 2.01 3 2 10l15 2-15 2z',
  clip: 'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z',
  file: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z',
  back: 'M20 11H7.83l5.59-5.59L12 4l-8 8 8 8 1.41-1.41L7.83 13H20z',
  phone: 'M6.62 10.79a15.1 15.1 0 0 0 6.59 6.59l2.2-2.2a1 1 0 0 1 1.02-.24c1.12.37 2.33.57 3.57.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1.02z',
};
/** @param {string} name @param {number} size @param {string} [cls] */
function icon(name, size, cls) {
  const NS = 'http://www.w3.org/2000/svg', s = D.createElementNS(NS, 'svg'), p = D.createElementNS(NS, 'path');
  /** @type {Record<string, string>} */
  const at = { viewBox: '0 0 24 24', width: String(size), height: String(size), 'aria-hidden': 'true', focusable: 'false', class: cls || '' };
  Object.keys(at).forEach((k) => s.setAttribute(k, at[k]));
  p.setAttribute('d', P[name]); p.setAttribute('fill', 'currentColor');
  s.append(p);
  return s;
}
/** @template {keyof HTMLElementTagNameMap} K @param {K} tag @param {string} [cls] @param {Array<Node | string>} [kids] @param {Record<string, string>} [attrs] @returns {HTMLElementTagNameMap[K]} */
function h(tag, cls, kids, attrs) {
  const e = D.createElement(tag);
  if (cls) e.className = cls;
  if (attrs) Object.keys(attrs).forEach((k) => e.setAttribute(k, attrs[k]));
  (kids || []).forEach((k) => e.append(k));
  return e;
}
/** @param {string} cls @param {Array<Node | string>} kids @param {string} label @param {((e: MouseEvent) => unknown) | null} [fn] @param {string} [type] */
const btn = (cls, kids, label, fn, type) => {
  const b = h('button', cls, kids, { type: type || 'button' });
  if (label) { b.setAttribute('aria-label', label); b.title = label; }
  if (fn) b.onclick = guard(fn);
  return b;
};

const CSS = `:host{all:initial!important;position:fixed!important;z-index:2147483000!important;top:0!important;left:0!important;width:0!important;height:0!important;display:block!important}
*{box-sizing:border-box}[hidden]{display:none!important}
.r{--c:#2563eb;--f:#fff;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Arial,"Liberation Sans","DejaVu Sans",sans-serif;color:#1f2937;text-align:left;direction:ltr}
button,input,textarea{font:inherit;color:inherit;margin:0}button{background:none;border:0;padding:0;cursor:pointer}
:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}
.la{position:fixed;bottom:20px;right:20px;width:60px;height:60px;border-radius:50%;background:var(--c);color:var(--f);box-shadow:0 6px 20px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;transition:transform .15s}
.la:hover{transform:scale(1.06)}.l .la,.l .win,.l .te{right:auto;left:20px}
.la .i2,.open .la .i1{display:none}.open .la .i2{display:block}
.bd{position:absolute;top:-3px;right:-3px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#ef4444;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;box-shadow:0 0 0 2px #fff}
.te{position:fixed;bottom:92px;right:20px;max-width:290px;background:#fff;color:#111827;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.18);padding:12px 34px 12px 14px;cursor:pointer;animation:up .25s}
.te b{display:block;font-size:12.5px;color:#6b7280;font-weight:600}
.te span{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden;white-space:pre-wrap;overflow-wrap:anywhere}
.te button{position:absolute;top:6px;right:6px;width:24px;height:24px;border-radius:6px;color:#9ca3af;display:flex;align-items:center;justify-content:center}
.win{position:fixed;bottom:92px;right:20px;width:380px;height:620px;max-height:calc(100vh - 112px);display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 12px 48px rgba(0,0,0,.25);overflow:hidden;animation:up .2s}
@keyframes up{from{opacity:0;transform:translateY(12px)}}
.hd{background:var(--c);color:var(--f);padding:14px 10px 14px 18px;display:flex;align-items:center;gap:4px}
.hm{flex:1;min-width:0}.ti,.su span{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.ti{font-size:16px;font-weight:600}
.su{font-size:12.5px;opacity:.92;display:flex;align-items:center;gap:7px;padding-left:2px}
.dot{width:8px;height:8px;border-radius:50%;background:#d1d5db;flex:none}.on .dot{background:#22c55e}
.hb{width:38px;height:38px;border-radius:10px;display:flex;align-items:center;justify-content:center;flex:none}
.hb:hover{background:rgba(127,127,127,.25)}
.cn{background:#fef3c7;color:#92400e;font-size:12.5px;padding:6px 16px}
.v{flex:1;display:flex;flex-direction:column;min-height:0;background:#f6f7f9}
.li{flex:1;overflow-y:auto;padding:12px 14px 8px;overscroll-behavior:contain}
.m{display:flex;flex-direction:column;max-width:82%;margin-top:3px;align-items:flex-start}
.m.first{margin-top:12px}.m.out{margin-left:auto;align-items:flex-end}
.who{font-size:12px;color:#6b7280;margin:0 0 3px 4px}.m:not(.first) .who,.out .who{display:none}
.bu{padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:14.5px}
.in .bu{background:#fff;color:#111827;border:1px solid #e5e7eb}.in.first .bu{border-top-left-radius:5px}
.out .bu{background:var(--c);color:var(--f)}.out.first .bu{border-top-right-radius:5px}
.bu a{color:inherit}
.me{font-size:11px;color:#9ca3af;margin:3px 6px 0}.m:not(.last):not(.pe):not(.fa) .me{display:none}
.pe .bu{opacity:.7}.fa .bu{opacity:.55}.fa .me,.fa .me button{color:#dc2626}.fa .me button{text-decoration:underline;margin-left:6px;font-size:11px}
.cb .bu{background:#ecfdf5;color:#065f46;border:1px solid #a7f3d0;display:flex;gap:8px}.cb svg{flex:none;margin-top:2px}
.ty{padding:2px 18px 6px;font-size:12.5px;color:#6b7280;font-style:italic}
.cbb{display:flex;align-items:center;gap:6px;margin:4px 14px 8px auto;padding:6px 12px;border-radius:16px;border:1px solid #d1d5db;background:#fff;color:#374151;font-size:13px}
.cbb:hover{border-color:var(--c)}
.of{padding:10px 14px 12px;background:#fff7ed;border-top:1px solid #fed7aa;font-size:13px;color:#7c2d12}
.of form{display:flex;gap:6px;margin-top:8px}.of .in2{flex:1;min-width:0;padding:8px 10px;font-size:14px}.of .btn{padding:8px 12px;font-size:14px}
.co{display:flex;align-items:flex-end;gap:8px;padding:8px 8px 8px 8px;border-top:1px solid #e5e7eb;background:#fff}
.rt{padding:10px 14px 12px;background:#fff;border-top:1px solid #e5e7eb;font-size:13.5px;color:#374151}
.st{display:flex;gap:2px;margin:4px 0 2px}.st button{font-size:28px;line-height:32px;width:34px;color:#d1d5db}.st button.on{color:#f59e0b}
.rt .in2{margin-top:6px;padding:8px 10px;font-size:14px}.rt .btn{margin-top:8px;padding:8px 14px;font-size:14px}
.at{width:36px;height:40px;border-radius:10px;color:#6b7280;display:flex;align-items:center;justify-content:center;flex:none}.at:hover{color:var(--c)}
.fs{display:flex;flex-direction:column;gap:6px}.fs.only{margin:-4px -8px}.bu span:empty{display:none}.bu span+.fs{margin-top:6px}
.fs a{display:block;cursor:pointer}.fs img{display:block;max-width:240px;max-height:240px;min-width:40px;min-height:40px;border-radius:12px;background:#e5e7eb;object-fit:cover}
.fs .fd{display:flex;align-items:center;gap:8px;padding:6px 10px;border-radius:10px;background:rgba(127,127,127,.14);color:inherit;text-decoration:none;max-width:260px}
.fd b{font-weight:500;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;flex:1;min-width:0}.fd i{font-style:normal;opacity:.75;font-size:12px;flex:none}
.co textarea{flex:1;resize:none;border:0;outline:0;background:none;color:#111827;font-size:15px;line-height:1.4;height:40px;max-height:130px;padding:9px 0;min-width:0}
.co textarea::placeholder{color:#9ca3af}
.sd{width:40px;height:40px;border-radius:50%;background:var(--c);color:var(--f);display:flex;align-items:center;justify-content:center;flex:none}.sd:disabled{opacity:.35;cursor:default}
.fo{flex:1;overflow-y:auto;padding:20px 18px;display:flex;flex-direction:column;gap:14px;background:#fff}
.fo h2{font-size:18px;font-weight:600;margin:0;color:#111827}.fo p{margin:0;color:#4b5563;font-size:13.5px}
.fl{display:flex;flex-direction:column;gap:5px;font-size:13px;font-weight:500;color:#374151}.fl i{color:#dc2626;font-style:normal}
.in2{width:100%;border:1px solid #d1d5db;border-radius:10px;padding:10px 12px;font-size:15px;background:#fff;color:#111827;outline:0}
.in2:focus{border-color:var(--c);box-shadow:0 0 0 1px var(--c)}.in2[aria-invalid=true]{border-color:#dc2626}
.er{color:#dc2626;font-size:12.5px;font-weight:400}
.btn{background:var(--c);color:var(--f);border-radius:10px;padding:11px 16px;font-weight:600;font-size:15px}.btn:disabled{opacity:.6}
.wh{border:0;padding:0;margin:0;display:flex;flex-direction:column;gap:8px;min-width:0}.wh legend{font-size:13px;font-weight:500;color:#374151;padding:0;margin-bottom:6px}
.rd{display:flex;align-items:center;gap:8px;min-height:34px;font-size:14px;color:#111827;cursor:pointer}.rd input[type=radio]{accent-color:var(--c);width:16px;height:16px;margin:0}
.rd .in2{width:auto;min-width:0;flex:1;padding:6px 8px;font-size:14px}
.lk{color:#4b5563;font-size:13.5px;display:flex;align-items:center;gap:6px;align-self:flex-start}
@media (prefers-reduced-motion:reduce){.win,.te{animation:none}.la{transition:none}}
@media (max-width:480px){.win{inset:0;width:auto;height:auto;max-height:none;border-radius:0}
.open .la,.open .te{display:none}.co textarea,.in2{font-size:16px}.te,.l .te{left:16px;right:16px;max-width:none}}`;

async function build() {
  if (ui) return;
  if (!D.body) await new Promise((res) => D.addEventListener('DOMContentLoaded', res, { once: true }));
  if (ui) return;
  const ch = S.channel;
  const host = D.createElement('hub-widget');
  // Inline and :host both use !important: the page's own !important rules cannot move it.
  ['all:initial', 'position:fixed', 'z-index:2147483000', 'top:0', 'left:0', 'width:0', 'height:0', 'display:block']
    .forEach((p) => { const [k, v] = p.split(':'); host.style.setProperty(k, v, 'important'); });
  const sr = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    sr.adoptedStyleSheets = [sheet];
  } catch (e) { sr.append(h('style', '', [CSS])); }
  const r = ($.r = h('div', 'r' + ((ds.position || ch.position) === 'left' ? ' l' : ''), [], { lang }));
  $.bd = h('span', 'bd', [], { hidden: '', 'aria-hidden': 'true' });
  $.la = btn('la', [icon('chat', 28, 'i1'), icon('down', 30, 'i2'), $.bd], '', () => (S.isOpen ? closeWin() : openWin(true)));
  $.la.setAttribute('aria-expanded', 'false');
  $.la.setAttribute('aria-controls', 'hub-win');
  $.teName = h('b');
  $.teText = h('span');
  const teX = btn('', [icon('x', 16)], t('hide'), (e) => { e.stopPropagation(); $.te.hidden = true; });
  $.te = h('div', 'te', [$.teName, $.teText, teX], { hidden: '', role: 'status' });
  $.te.onclick = guard(() => openWin(true));
  $.ti = h('div', 'ti', [ch.name || t('chat')]);
  $.sub = h('span');
  $.hd = h('div', 'hd', [
    h('div', 'hm', [$.ti, h('div', 'su', [h('i', 'dot'), $.sub])]),
    btn('hb', [icon('phone', 20)], t('cb'), () => show('cb')),
    btn('hb', [icon('x', 22)], t('close'), closeWin),
  ]);
  $.cn = h('div', 'cn', [], { hidden: '', role: 'status' });
  $.li = h('div', 'li', [], { role: 'log', 'aria-live': 'polite', tabindex: '0', 'aria-label': ch.name || t('chat') });
  $.ty = h('div', 'ty', [], { hidden: '' });
  $.ta = h('textarea', '', [], { rows: '1', placeholder: t('ph'), 'aria-label': t('ph') });
  $.sd = btn('sd', [icon('send', 20)], t('send'), null, 'submit');
  $.sd.disabled = true;
  $.fin = h('input', '', [], { type: 'file', multiple: '', hidden: '', tabindex: '-1' });
  $.fin.addEventListener('change', guard(() => { Array.from($.fin.files || []).forEach(sendFile); $.fin.value = ''; }));
  $.at = btn('at', [icon('clip', 22)], t('attach'), () => $.fin.click());
  const co = h('form', 'co', [$.at, $.fin, $.ta, $.sd]);
  co.onsubmit = guard((e) => { e.preventDefault(); submit(); });
  $.ta.addEventListener('keydown', guard((e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); submit(); }
  }));
  $.ta.addEventListener('input', guard(onInput));
  $.ta.addEventListener('paste', guard((/** @type {ClipboardEvent} */ e) => dropped(e.clipboardData, e)));
  $.chat = h('div', 'v', [$.li, $.ty, btn('cbb', [icon('phone', 15), t('cb')], '', () => show('cb')), buildOffline(), buildRating(), co]);
  $.chat.addEventListener('dragover', (e) => e.preventDefault());
  $.chat.addEventListener('drop', guard((/** @type {DragEvent} */ e) => dropped(e.dataTransfer, e)));
  $.pre = buildPrechat();
  $.cb = buildCallback();
  $.win = h('div', 'win', [$.hd, $.cn, $.chat, $.pre, $.cb], { id: 'hub-win', role: 'dialog', 'aria-label': ch.name || t('chat'), hidden: '' });
  r.append($.win, $.te, $.la);
  sr.append(r);
  sr.addEventListener('keydown', guard((/** @type {Event} */ e) => { if (e instanceof KeyboardEvent && e.key === 'Escape' && S.isOpen) { e.preventDefault(); closeWin(); } }));
  D.body.append(host);
  ui = host;
  color(ds.color || ch.color);
}
/** @param {string | undefined} c */
function color(c) { // the accent, and dark or light text on it
  try { if (!c || !W.CSS.supports('color', c)) return; } catch (e) { return; }
  $.r.style.setProperty('--c', c);
  const probe = h('i');
  probe.style.color = c;
  $.r.append(probe);
  const m = (getComputedStyle(probe).color.match(/[\d.]+/g) || []).map(Number);
  probe.remove();
  if (m.length > 2) $.r.style.setProperty('--f', 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2] > 165 ? '#111827' : '#fff');
}

// ---- forms: pre-chat, call me back, "nobody online" contact ----
/** @param {HTMLFormElement} f @param {string} n @returns {CheckedInput | null} */
const fe = (f, n) => /** @type {CheckedInput | null} */ (f.elements.namedItem(n));
/** @param {Checked} inp @param {string} msg */
function err(inp, msg) {
  if (inp.tagName === 'INPUT') inp.setAttribute('aria-invalid', msg ? 'true' : 'false');
  inp._er.textContent = msg || '';
  inp._er.hidden = !msg;
}
/** @param {string} name @param {string} label @param {string} type @param {boolean} req @param {string} [value] */
function field(name, label, type, req, value) {
  const inp = /** @type {CheckedInput} */ (h('input', 'in2', [], { name, type, autocomplete: type === 'tel' ? 'tel' : name }));
  inp.value = value || '';
  inp._er = h('span', 'er', [], { hidden: '' });
  return h('label', 'fl', [h('span', '', [label, req ? h('i', '', [' *']) : '']), inp, inp._er]);
}
/** @param {string} title @param {string} intro @param {HTMLElement[]} kids @param {string} go @param {(f: WidgetForm) => Promise<unknown>} onSubmit @returns {WidgetForm} */
function form(title, intro, kids, go, onSubmit) {
  const b = btn('btn', [go], '', null, 'submit');
  const gen = /** @type {Checked} */ (h('span', 'er', [], { hidden: '', role: 'alert' }));
  gen._er = gen;
  const f = /** @type {WidgetForm} */ (h('form', 'fo', [h('h2', '', [title]), h('p', '', [intro]), ...kids, gen, b], { novalidate: '', hidden: '' }));
  f._gen = gen;
  f.onsubmit = guard(async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    if (b.disabled) return;
    Array.from(f.elements).forEach((i) => { if ('_er' in i && i._er) err(/** @type {Checked} */ (i), ''); });
    err(gen, '');
    b.disabled = true;
    try { await onSubmit(f); } finally { b.disabled = false; }
  });
  return f;
}
/** @param {WidgetForm} f @param {string[]} names */
function filled(f, names) {
  const bad = /** @type {CheckedInput[]} */ (names.map((n) => fe(f, n)).filter((i) => i && !i.value.trim()));
  bad.forEach((i) => err(i, t('req')));
  if (bad[0]) bad[0].focus();
  return !bad.length;
}
/** @param {WidgetForm} f @param {WidgetAnswer} r */
function failed(f, r) {
  const k = /phone/.test(r.code) ? 'phone' : /email/.test(r.code) ? 'email' : '';
  const inp = k && fe(f, k);
  if (inp) err(inp, t(k === 'phone' ? 'badPhone' : 'badEmail'));
  else err(f._gen, r.status ? t('error') : t('conn'));
}
/** @param {WidgetForm} f @param {string[]} names */
function values(f, names) {
  /** @type {Record<string, string>} */
  const out = {};
  names.forEach((n) => { const i = fe(f, n); if (i && i.value.trim()) out[n] = i.value.trim(); });
  return out;
}
function buildPrechat() {
  const fs = (S.channel.prechat && S.channel.prechat.fields) || {};
  const names = ['name', 'email', 'phone'].filter((n) => fs[n] && fs[n] !== 'off');
  const kids = names.map((n) => field(n, t(n), n === 'phone' ? 'tel' : n === 'email' ? 'email' : 'text', fs[n] === 'required', S.contact[n]));
  return form(t('preTitle'), t('preIntro'), kids, t('preGo'), async (f) => {
    if (!filled(f, names.filter((n) => fs[n] === 'required'))) return;
    const r = await api('POST', '/api/widget/v1/contact', Object.assign({ visitor_token: S.vt }, values(f, names)));
    if (!r.ok) return failed(f, r);
    S.contact = r.data.contact || S.contact;
    S.prechat = false;
    show('chat');
    offline();
    flush();
  });
}
/** "When to call": as soon as possible, today after a time, tomorrow morning, or a date and time
 * of his own clock (the hub turns it into the call-back task's due time). */
function whenChoice() {
  const pad = (/** @type {number} */ n) => (n < 10 ? '0' : '') + n;
  const now = new Date();
  /** @param {string} name @param {string} type @param {string} value */
  const clock = (name, type, value) => {
    const i = /** @type {CheckedInput} */ (h('input', 'in2', [], { name, type, 'aria-label': t(name === 'time' ? 'wToday' : 'wAt') }));
    i.value = value;
    i._er = h('span', 'er', [], { hidden: '' });
    return i;
  };
  const time = clock('time', 'time', pad(Math.min(23, now.getHours() + 2)) + ':00');
  const at = clock('at', 'datetime-local', '');
  at.min = now.getFullYear() + '-' + pad(now.getMonth() + 1) + '-' + pad(now.getDate()) + 'T' + pad(now.getHours()) + ':' + pad(now.getMinutes());
  /** @param {string} kind @param {string} label @param {CheckedInput} [input] */
  const option = (kind, label, input) => {
    const radio = h('input', '', [], { type: 'radio', name: 'wk', value: kind });
    if (kind === 'asap') radio.checked = true;
    if (input) input.addEventListener('focus', () => { radio.checked = true; });
    return h('label', 'rd', [radio, h('span', '', [label]), ...(input ? [input] : [])]);
  };
  return h('fieldset', 'wh', [
    h('legend', '', [t('when')]),
    option('asap', t('wAsap')), option('today_after', t('wToday'), time),
    option('tomorrow_morning', t('wMorning')), option('at', t('wAt'), at), time._er, at._er,
  ]);
}
/** @param {WidgetForm} f @returns {Record<string, string> | null} the choice, or null when its time is missing */
function chosenWhen(f) {
  const kind = (/** @type {HTMLInputElement | null} */ (f.querySelector('input[name=wk]:checked')) || { value: 'asap' }).value;
  const input = kind === 'today_after' ? fe(f, 'time') : kind === 'at' ? fe(f, 'at') : null;
  if (!input) return { kind };
  if (!input.value) { err(input, t('req')); input.focus(); return null; }
  return kind === 'at' ? { kind, at: input.value.slice(0, 16) } : { kind, time: input.value.slice(0, 5) };
}
function buildCallback() {
  const f = form(t('cbTitle'), t('cbIntro'), [
    field('phone', t('phone'), 'tel', true, S.contact.phone),
    field('name', t('name'), 'text', false, S.contact.name),
    whenChoice(),
  ], t('cbGo'), async () => {
    if (!filled(f, ['phone'])) return;
    const when = chosenWhen(f);
    if (!when) return;
    const v = values(f, ['phone', 'name']);
    /** @type {Record<string, unknown>} */
    const body = { visitor_token: S.vt, phone: v.phone, name: v.name, when, lang: lang || 'ru' };
    try { const zone = Intl.DateTimeFormat().resolvedOptions().timeZone; if (zone) body.time_zone = zone; } catch (e) { /* the hub's own zone then */ }
    const r = await api('POST', '/api/widget/v1/callback', body);
    const late = /^(time_in_past|time_too_far|invalid_time)$/.test(r.code) && fe(f, when.kind === 'at' ? 'at' : 'time');
    if (late) return err(late, t('badTime'));
    if (!r.ok) return failed(f, r);
    addMsg(r.data.message);
    show('chat');
    scrollDown(true);
    connect();
  });
  f.prepend(btn('lk', [icon('back', 16), t('back')], '', () => show('chat')));
  return f;
}
function buildOffline() {
  const inp = /** @type {CheckedInput} */ (h('input', 'in2', [], { name: 'c', autocomplete: 'email', 'aria-label': t('offField'), placeholder: t('offField') }));
  inp._er = h('div', 'er', [], { hidden: '', role: 'alert' });
  $.ofText = h('div');
  $.ofForm = h('form', '', [inp, btn('btn', [t('offGo')], '', null, 'submit')]);
  $.ofForm.onsubmit = guard(async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const v = inp.value.trim(), mail = v.indexOf('@') > 0;
    err(inp, '');
    if (!v) return err(inp, t('req'));
    const r = await api('POST', '/api/widget/v1/contact', { visitor_token: S.vt, [mail ? 'email' : 'phone']: v });
    if (!r.ok) return err(inp, r.status ? t(mail ? 'badEmail' : 'badPhone') : t('conn'));
    S.contact = r.data.contact || S.contact;
    inp.value = '';
    offline();
  });
  return ($.of = h('div', 'of', [$.ofText, $.ofForm, inp._er], { hidden: '', role: 'status' }));
}
function offline() {
  const known = S.contact.email || S.contact.phone;
  const when = answerTime();
  $.of.hidden = S.online && !S.noAnswer;
  $.ofForm.hidden = !!known;
  $.ofText.textContent = t(S.online ? 'busy' : 'offline') + '. ' + (when ? when + '. ' : '') + (known ? t('thanks', { v: known }) : t('offNote'));
}
// When the company answers, from its working hours: nothing while it is open (or has no hours).
function answerTime() {
  const o = S.hours && !S.hours.open_now && S.hours.opens;
  if (!o || !/^\d\d:\d\d$/.test(o.time)) return '';
  if (o.day === 'today' || o.day === 'tomorrow') return t(o.day === 'today' ? 'ansToday' : 'ansTomorrow', { x: o.time });
  return T.en['d_' + o.day] ? t('ansDay', { d: t('d_' + o.day), x: o.time }) : '';
}
// Nobody answered the visitor's last message within the channel's reply_wait_s: offer the
// "leave a phone or email" form (its time counts from when this page saw the message).
function waitCheck() {
  clearTimeout(timers.wait);
  /** @type {Bubble | null} */
  let last = null;
  let lastId = 0;
  S.msgs.forEach((el, id) => { if (id > lastId) { lastId = id; last = el; } });
  const el = /** @type {Bubble | null} */ (last);
  const waiting = !!el && el.dataset.k === 'c';
  const due = el && waiting ? el._seen + (Number(S.channel.reply_wait_s) || 120) * 1000 - Date.now() : 0;
  const none = waiting && due <= 0;
  if (none !== S.noAnswer) { S.noAnswer = none; offline(); }
  if (waiting && due > 0) later('wait', waitCheck, due + 50);
}

// ---- window ----
/** @param {boolean} v */
function setOnline(v) {
  S.online = !!v;
  head();
  offline();
}
function head() {
  $.hd.classList.toggle('on', S.online);
  $.sub.textContent = S.opName ? S.opName + ' · ' + t('op') : t(S.online ? 'online' : 'offline');
}
/** @param {boolean} on @param {string} [text] */
function bar(on, text) {
  if (!ui) return;
  $.cn.textContent = text || t('conn');
  $.cn.hidden = !on;
}
/** @param {'chat' | 'pre' | 'cb'} v @param {boolean} [noFocus] */
function show(v, noFocus) {
  if (v === 'chat' && S.prechat) v = 'pre';
  S.view = v;
  $.chat.hidden = v !== 'chat'; $.pre.hidden = v !== 'pre'; $.cb.hidden = v !== 'cb';
  if (v !== 'chat') { const f = $[v]; ['name', 'email', 'phone'].forEach((n) => { const i = fe(f, n); if (i && !i.value && S.contact[n]) i.value = S.contact[n]; }); }
  if (S.isOpen && !noFocus) {
    const f = v === 'chat' ? $.ta : $[v].querySelector('input');
    try { if (f) f.focus({ preventScroll: true }); } catch (e) { /* */ }
  }
  if (v === 'chat') scrollDown(true);
}
function prechatMissing() {
  const p = S.channel.prechat;
  const fs = (p && p.enabled && p.fields) || {};
  return Object.keys(fs).some((k) => fs[k] === 'required' && !S.contact[k]);
}
/** @param {boolean} focus */
function openWin(focus) {
  S.want = true;
  if (!ui) return;
  if (!ui.isConnected) D.body.append(ui);
  S.isOpen = true;
  save('open', true);
  $.win.hidden = false;
  $.te.hidden = true;
  $.r.classList.add('open');
  $.la.setAttribute('aria-expanded', 'true');
  if (prechatMissing()) S.prechat = true;
  show(S.view === 'cb' ? 'cb' : 'chat', !focus);
  markRead();
  connect();
}
function closeWin() {
  S.want = false;
  if (!ui || !S.isOpen) return;
  S.isOpen = false;
  save('open', false);
  $.win.hidden = true;
  $.r.classList.remove('open');
  $.la.setAttribute('aria-expanded', 'false');
  updateBadge();
  try { $.la.focus(); } catch (e) { /* */ }
}
function submit() {
  const v = $.ta.value;
  if (!v.trim()) return;
  $.ta.value = '';
  onInput();
  send(v);
}
function onInput() {
  const ta = $.ta;
  ta.style.height = '40px';
  ta.style.height = Math.min(130, Math.max(40, ta.scrollHeight)) + 'px';
  $.sd.disabled = !ta.value.trim();
  if (ta.value && Date.now() - S.lastTyping > 3000 && wsSend({ type: 'typing' })) S.lastTyping = Date.now();
}
/** @param {boolean} [force] */
function scrollDown(force) {
  const l = $.li;
  if (force || l.scrollHeight - l.scrollTop - l.clientHeight < 120) l.scrollTop = l.scrollHeight;
}

// ---- messages: merged by id, ordered by id, pending ones last ----
/** @param {HTMLElement} el @param {string} text */
function fillText(el, text) { // links become <a> built from text, http(s) only
  const re = /\bhttps?:\/\/[^\s<>"']*[^\s<>"'.,;:!?)\]]/gi;
  let i = 0;
  /** @type {RegExpExecArray | null} */
  let m;
  while ((m = re.exec(text))) {
    el.append(text.slice(i, m.index), h('a', '', [m[0]], { href: m[0], target: '_blank', rel: 'noopener noreferrer nofollow' }));
    i = m.index + m[0].length;
  }
  el.append(text.slice(i));
}
/** @param {string} iso */
function hhmm(iso) {
  try { const d = new Date(iso); return isNaN(d.getTime()) ? '' : d.toLocaleTimeString(lang, { hour: lang === 'en' ? 'numeric' : '2-digit', minute: '2-digit' }); } catch (e) { return ''; }
}
const bubble = () => /** @type {Bubble} */ (h('div'));
/** @param {Bubble} el @param {WidgetJson} m @param {string} [state] pe: sending, fa: failed */
function fillMsg(el, m, state) {
  const out = m.sender && m.sender.type === 'contact';
  const who = out ? t('you') : (m.sender && m.sender.name) || S.channel.name || t('chat');
  const cb = m.kind === 'callback_request';
  el.textContent = '';
  el.className = 'm ' + (out ? 'out' : 'in') + (cb ? ' cb' : '') + (state ? ' ' + state : '');
  el.dataset.k = out ? 'c' : 'o:' + who;
  el._t = Date.parse(m.created_at) || Date.now();
  el._body = m.body;
  const bu = h('div', 'bu', cb ? [icon('phone', 16)] : []);
  const txt = h('span');
  fillText(txt, cb && m.callback ? callbackText(m.callback, m.created_at) : String(m.body == null ? '' : m.body));
  bu.append(txt);
  if (Array.isArray(m.attachments) && m.attachments.length) filesEl(bu, m.attachments, !m.body);
  el.append(h('div', 'who', [who]), bu, h('div', 'me', [state === 'pe' ? t('sending') : hhmm(m.created_at)]));
  return el;
}
/** A callback request in the visitor's language: the number, and when the company will call
 * (the hub's due time, in his clock). @param {WidgetJson} cb @param {string} created */
function callbackText(cb, created) {
  const due = Date.parse(cb.due_at), made = Date.parse(created) || Date.now();
  const day = (/** @type {number} */ x) => new Date(x).toDateString();
  const hm = hhmm(cb.due_at);
  let w;
  if (isNaN(due) || due - made < 600000) w = t('soon');
  else if (day(due) === day(Date.now())) w = t(cb.when && cb.when.kind === 'today_after' ? 'todayAfter' : 'today', { t: hm });
  else if (day(due) === day(Date.now() + 86400000)) w = t('tomorrow', { t: hm });
  else w = t('on', { d: new Date(due).toLocaleDateString(lang, { weekday: 'short', day: 'numeric', month: 'long' }), t: hm });
  return t('cbAsked', { p: cb.phone || '' }) + '\n' + t('cbWill', { w });
}
/** @param {Element | null} e @returns {Bubble | null} */
const asBubble = (e) => /** @type {Bubble | null} */ (e);
/** @param {Bubble} el */
function place(el) {
  let ref = null;
  for (let c = asBubble($.li.lastElementChild); c; c = asBubble(c.previousElementSibling)) {
    if (c === el) continue;
    if (c._o <= el._o) break;
    ref = c;
  }
  $.li.insertBefore(el, ref);
  /** @type {Bubble | null} */
  let prev = null; // group runs of one sender within 5 minutes
  for (let c = asBubble($.li.firstElementChild); c; c = asBubble(c.nextElementSibling)) {
    const first = !prev || prev.dataset.k !== c.dataset.k || c._t - prev._t > 300000;
    c.classList.toggle('first', first);
    if (prev) prev.classList.toggle('last', first);
    prev = c;
  }
  if (prev) prev.classList.add('last');
}
/** @param {Outgoing} item */
function pendingEl(item) {
  if (!ui || S.pend.has(item.id)) return;
  // Stored by the hub but not acked before a reload: it is re-sent (deduped) but not shown twice.
  for (const e of S.msgs.values()) if (e.dataset.k === 'c' && e._body === item.body && Math.abs(e._t - item.t) < 600000) return;
  const el = fillMsg(bubble(), { body: item.body, sender: { type: 'contact' }, created_at: new Date(item.t).toISOString() }, 'pe');
  el._o = Infinity;
  el._cid = item.id;
  S.pend.set(item.id, el);
  place(el);
}
/** @param {string} cid @param {string} why */
function failEl(cid, why) {
  const el = S.pend.get(cid);
  if (!el) return;
  const me = /** @type {HTMLElement} */ (el.lastElementChild); // the time, now the reason
  el.classList.replace('pe', 'fa');
  me.textContent = why;
  me.append(btn('', [t('retry')], '', () => {
    save('outbox', outbox().concat([{ id: cid, body: el._body, t: Date.now() }]));
    el.classList.replace('fa', 'pe');
    me.textContent = t('sending');
    connect();
    flush();
  }));
}
/** @param {WidgetJson} m @param {string | null} [cid] @param {boolean} [initial] */
function addMsg(m, cid, initial) {
  if (!m || typeof m.id !== 'number' || !ui) return;
  if (m.id > S.lastId) S.lastId = m.id;
  const out = m.sender && m.sender.type === 'contact';
  let el = cid ? S.pend.get(cid) : undefined;
  if (S.msgs.has(m.id)) {
    if (el && cid) { el.remove(); S.pend.delete(cid); }
    return;
  }
  if (!el && out) { // our own message seen before its ack (after a reconnect): adopt the bubble
    for (const p of S.pend.values()) if (p._body === m.body && p.classList.contains('pe')) { el = p; break; }
  }
  if (el) S.pend.delete(el._cid || '');
  el = fillMsg(el || bubble(), m);
  el._o = m.id;
  el._seen = initial ? el._t : Date.now();
  S.msgs.set(m.id, el);
  place(el);
  if (!out) {
    if (m.sender && m.sender.type === 'operator' && m.sender.name) S.opName = m.sender.name;
    hideTyping();
    head();
    if (!initial && !(S.isOpen && !D.hidden)) teaser(m.sender && m.sender.name, m.body || fileNames(m));
  }
  markRead();
  scrollDown(out && !initial);
  waitCheck();
  if (!initial) connect();
}
/** @param {string} [name] an operator typing a reply; hidden on his reply, a stop or 5 s after the last frame */
function showTyping(name) {
  if (!ui) return;
  const who = name || S.opName;
  $.ty.textContent = who ? t('typing', { n: who }) : t('typingOp');
  $.ty.hidden = false;
  scrollDown();
  later('typing', hideTyping, 5000);
}
function hideTyping() { if (ui) $.ty.hidden = true; clearTimeout(timers.typing); }
function markRead() {
  if (S.isOpen && !D.hidden) {
    S.greetUnread = false;
    if (S.read !== S.lastId) save('read', (S.read = S.lastId));
  }
  updateBadge();
}
function updateBadge() {
  if (!ui) return;
  let n = S.greetUnread ? 1 : 0;
  S.msgs.forEach((el, id) => { if (id > (S.read || 0) && el.dataset.k !== 'c') n++; });
  $.bd.textContent = n > 9 ? '9+' : String(n);
  $.bd.hidden = !n;
  $.la.setAttribute('aria-label', S.isOpen ? t('close') : n ? t('open') + ', ' + t('unread', { n }) : t('open'));
}
/** @param {string | undefined} name @param {string} text */
function teaser(name, text) {
  if (S.isOpen) return;
  $.teName.textContent = name || S.channel.name || '';
  $.teText.textContent = String(text || '').slice(0, 300);
  $.te.hidden = false;
}

// ---- rating: asked once a conversation is resolved (rating_request), 1 to 5 and a comment ----
function buildRating() {
  $.rtStars = h('div', 'st', [], { role: 'group', 'aria-label': t('rateQ') });
  [1, 2, 3, 4, 5].forEach((n) => $.rtStars.append(btn('', ['★'], t('rateN', { n }), () => pickScore(n))));
  $.rtText = h('input', 'in2', [], { maxlength: '2000', placeholder: t('rateC'), 'aria-label': t('rateC'), hidden: '' });
  $.rtText.addEventListener('keydown', guard((/** @type {KeyboardEvent} */ e) => { if (e.key === 'Enter') { e.preventDefault(); sendRating(); } }));
  $.rtGo = btn('btn', [t('rateGo')], '', sendRating);
  $.rtGo.hidden = true;
  $.rtQ = h('div', '', [t('rateQ')]);
  $.rtEr = h('div', 'er', [], { hidden: '', role: 'alert' });
  return ($.rt = h('div', 'rt', [$.rtQ, $.rtStars, $.rtText, $.rtGo, $.rtEr], { hidden: '', role: 'region', 'aria-label': t('rateQ') }));
}
/** @param {WidgetJson} req {resolution_id} to ask for, or nothing: stop asking */
function askRating(req) {
  if (!ui) return;
  const id = req && typeof req.resolution_id === 'number' ? req.resolution_id : 0;
  if (S.rating && S.rating.done) return; // the thanks stay until the visitor writes again
  if (!id || load('rated') === id) return stopRating();
  if (S.rating && S.rating.resolution_id === id) return;
  S.rating = { resolution_id: id, done: false };
  pickScore(0);
  $.rtText.value = '';
  $.rtQ.textContent = t('rateQ');
  $.rtStars.hidden = false;
  $.rtEr.hidden = true;
  $.rt.hidden = false;
  scrollDown();
}
function stopRating() {
  S.rating = null;
  if (ui) $.rt.hidden = true;
}
/** @param {number} n */
function pickScore(n) {
  S.score = n;
  Array.from($.rtStars.children).forEach((b, i) => { b.classList.toggle('on', i < n); b.setAttribute('aria-pressed', String(i + 1 === n)); });
  $.rtText.hidden = $.rtGo.hidden = !n;
}
async function sendRating() {
  const asked = S.rating;
  if (!asked || !S.score || $.rtGo.disabled) return;
  $.rtGo.disabled = true;
  try {
    const r = await api('POST', '/api/widget/v1/rating', { resolution_id: asked.resolution_id, score: S.score, comment: $.rtText.value.trim() }, true);
    if (r.ok || r.code === 'already_rated') {
      save('rated', asked.resolution_id);
      asked.done = true;
      $.rtQ.textContent = t('rateThx');
      $.rtStars.hidden = $.rtText.hidden = $.rtGo.hidden = true;
      $.rtEr.hidden = true;
    } else {
      $.rtEr.textContent = r.code === 'rate_limited' ? t('rate') : r.status ? t('error') : t('conn');
      $.rtEr.hidden = false;
    }
  } finally { $.rtGo.disabled = false; }
}

// ---- files: attached from the composer (button, paste, drop), shown both ways ----
// A file of the chat is read with the visitor token in a header, never in a URL: fetched once,
// shown from an object URL (images inline, anything else downloaded on a click).
/** @type {Map<string, Promise<string | null>>} */
const blobs = new Map();
/** @param {string} path @returns {Promise<string | null>} */
function fileUrl(path) {
  let p = blobs.get(path);
  if (!p) {
    p = (async () => {
      try {
        const res = await fetch(BASE + path, { headers: { 'X-Visitor-Token': String(S.vt) }, credentials: 'omit', mode: 'cors' });
        if (res.ok) return URL.createObjectURL(await res.blob());
      } catch (e) { /* fetched again when it is shown again */ }
      blobs.delete(path);
      return null;
    })();
    blobs.set(path, p);
  }
  return p;
}
function forgetFiles() {
  blobs.forEach((p) => p.then((u) => { if (u) URL.revokeObjectURL(u); }));
  blobs.clear();
}
/** @param {number} n */
const fileSize = (n) => (n < 1048576 ? t('kb', { n: Math.max(1, Math.round(n / 1024)) }) : t('mb', { n: (n / 1048576).toFixed(1) }));
/** @param {WidgetJson} m */
const fileNames = (m) => (Array.isArray(m.attachments) ? m.attachments.map((/** @type {WidgetJson} */ a) => '📎 ' + a.filename).join(', ') : '');
/** @param {HTMLElement} bu @param {WidgetJson[]} list @param {boolean} only no text beside them */
function filesEl(bu, list, only) {
  const box = h('div', 'fs' + (only ? ' only' : ''));
  list.forEach((a) => {
    const name = String(a.filename || t('file'));
    if (a.kind === 'image') {
      const img = h('img', '', [], { alt: name });
      const link = h('a', '', [img], { target: '_blank', rel: 'noopener noreferrer', title: name });
      const showImg = (/** @type {string | null} */ u) => { if (u) { img.src = u; link.href = u; } };
      if (a.local) showImg(a.local);
      else if (a.url) fileUrl(a.url).then(guard(showImg));
      box.append(link);
      return;
    }
    const kids = [icon('file', 18), h('b', '', [name]), h('i', '', [fileSize(Number(a.size) || 0)])];
    if (!a.url) { box.append(h('div', 'fd', kids)); return; } // still uploading
    const link = h('a', 'fd', kids, { href: '#', download: name, title: name });
    link.onclick = guard(async (/** @type {MouseEvent} */ e) => {
      if (link.getAttribute('href') !== '#') return; // fetched already: the browser saves it
      e.preventDefault();
      const u = await fileUrl(a.url);
      if (!u) return;
      link.href = u;
      link.click();
    });
    box.append(link);
  });
  bu.append(box);
}
/** @param {File} file */
function sendFile(file) {
  if (!ui || !S.vt) return;
  const item = { id: uuid(), file, t: Date.now() };
  const local = /^image\/(png|jpeg|gif|webp)$/.test(file.type) ? URL.createObjectURL(file) : '';
  const shown = { kind: local ? 'image' : 'document', filename: file.name, size: file.size, local };
  const el = fillMsg(bubble(), { body: '', sender: { type: 'contact' }, created_at: new Date(item.t).toISOString(), attachments: [shown] }, 'pe');
  el._o = Infinity;
  el._cid = item.id;
  S.pend.set(item.id, el);
  place(el);
  scrollDown(true);
  const max = Number(S.channel.max_attachment_bytes) || 0;
  if (max && file.size > max) return fileFailed(el, item, t('big', { n: Math.floor(max / 1048576) }), false);
  upload(el, item);
}
/** @param {Bubble} el @param {OutgoingFile} item */
async function upload(el, item) {
  const me = /** @type {HTMLElement} */ (el.lastElementChild);
  me.textContent = t('upl');
  const form = new FormData();
  form.append('client_id', item.id);
  form.append('file', item.file, item.file.name || 'file');
  const r = await api('POST', '/api/widget/v1/attachments', form, true, 120000);
  if (r.ok) { addMsg(r.data.message, item.id); return; }
  if (r.code === 'prechat_required') { S.prechat = true; if (S.isOpen) show('pre'); }
  else if (r.status === 401) await session();
  const max = Number(S.channel.max_attachment_bytes) || 0;
  const why = r.code === 'attachment_too_large' ? t('big', { n: Math.floor(max / 1048576) }) : r.code === 'rate_limited' ? t('rate') : r.status ? t('failed') : t('conn');
  fileFailed(el, item, why, r.code !== 'attachment_too_large');
}
/** @param {Bubble} el @param {OutgoingFile} item @param {string} why @param {boolean} again */
function fileFailed(el, item, why, again) {
  const me = /** @type {HTMLElement} */ (el.lastElementChild);
  el.classList.remove('pe');
  el.classList.add('fa');
  me.textContent = why;
  if (again) me.append(btn('', [t('retry')], '', () => { el.classList.replace('fa', 'pe'); upload(el, item); }));
}
/** @param {DataTransfer | null} dt @param {Event} e */
function dropped(dt, e) {
  const list = dt ? Array.from(dt.files) : [];
  if (!list.length) return;
  e.preventDefault();
  list.forEach(sendFile);
}

// ---- proactive greeting: local only, no request until the visitor writes ----
const greetText = () => (ds.greeting || (S.channel.greeting && S.channel.greeting.text) || '').trim();
function greetingEl() {
  const text = greetText();
  if (!text || S.msgs.size || outbox().length) return;
  const el = (S.greetEl = fillMsg(bubble(), { body: text, sender: { type: 'operator', name: S.channel.name } }));
  if (el.lastChild) el.lastChild.textContent = '';
  el.classList.add('gr');
  el._o = 0;
  place(el);
}
function scheduleGreeting() {
  const g = S.channel.greeting;
  if (!S.greetEl || S.msgs.size) return;
  try { if (W.sessionStorage.getItem(KEY + 'greeted')) return; } catch (e) { /* */ }
  later('greet', () => {
    if (S.isOpen || S.msgs.size || S.pend.size) return;
    try { W.sessionStorage.setItem(KEY + 'greeted', '1'); } catch (e) { /* */ }
    S.greetUnread = true;
    teaser(S.channel.name, greetText());
    updateBadge();
  }, Math.max(0, g && typeof g.delay_s === 'number' ? g.delay_s : 5) * 1000);
}

D.addEventListener('visibilitychange', guard(() => {
  if (D.hidden || !ui) return;
  markRead();
  if (wanted()) connect();
}));
W.addEventListener('online', guard(() => { S.attempt = 0; if (ui && wanted()) connect(); }));

// ---- the one global ----
/** @param {unknown} o */
function identify(o) {
  const given = /** @type {Record<string, unknown>} */ (o || {});
  /** @type {HubIdentity} */
  const id = {};
  /** @type {Array<keyof HubIdentity>} */ (['identifier', 'identifier_hash', 'name', 'email']).forEach((k) => { const v = given[k]; if (typeof v === 'string' && v) id[k] = v; });
  if (!id.identifier) return Promise.resolve(false);
  const prev = S.identity;
  S.identity = id;
  return (sessionBusy ? sessionBusy.then(session) : session()).then((ok) => {
    if (!ok) S.identity = prev; // a refused hash is forgotten
    return !!ok;
  }, () => false);
}
const Hub = Object.freeze({
  open: guard(() => openWin(true)),
  close: guard(closeWin),
  identify: (/** @type {unknown} */ o) => { try { return identify(o); } catch (e) { warn(e); return Promise.resolve(false); } },
});
W.Hub = Hub;
if (!TOKEN || !BASE) return warn('data-channel (and a script src or data-hub) is required');
guard(session)();
/** @type {Record<string, (...a: any[]) => unknown>} */
const calls = { open: Hub.open, close: Hub.close, identify: Hub.identify };
queued.forEach((c) => { try { const fn = calls[c[0]], a = c[1] || []; if (fn) fn(...(Array.isArray(a) ? a : [a])); } catch (e) { warn(e); } });
})();
