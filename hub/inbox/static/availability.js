// @ts-check
/* Automatic assignment, as an operator meets it: a button in the header to set himself away
 * (automatic assignment passes him by) or back, kept in step across his tabs by the
 * operator.availability event; opening a conversation offered to him accepts it (POST
 * /api/v1/conversations/{id}/accept), so it no longer passes to the next operator; and the
 * router's activities ("Assigned to Oleg: round robin, 2 of 5 open") told again in Russian
 * from their meta. A feature script on window.HubInbox; every text goes in with textContent. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      available: '● Available', away: '○ Away',
      available_hint: 'Automatic assignment gives you conversations. Click to step away',
      away_hint: 'Automatic assignment passes you by. Click to take conversations again',
      auto_round_robin: 'round robin', auto_returning_customer: 'returning customer',
      auto_assigned: 'Assigned to {name}: {why}, {open} of {capacity} open',
      auto_passed: 'Passed to {name}: {from} did not open it within {timeout} s; {why}, {open} of {capacity} open'
    },
    ru: {
      available: '● На месте', away: '○ Отошёл',
      available_hint: 'Вам назначаются диалоги автоматически. Нажмите, чтобы отойти',
      away_hint: 'Автоматическое назначение вас пропускает. Нажмите, чтобы вернуться',
      auto_round_robin: 'по кругу', auto_returning_customer: 'вернувшийся клиент',
      auto_assigned: 'Назначен оператору {name}: {why}, {open} из {capacity} открыты',
      auto_passed: 'Передан оператору {name}: {from} не открыл(а) диалог за {timeout} с; {why}, {open} из {capacity} открыты'
    }
  });

  /** @type {boolean | null} whether he is away, once known */
  var away = null;

  function button() {
    var btn = document.getElementById('away-btn');
    if (btn) return btn;
    btn = H.el('button', 'link away-toggle');
    btn.id = 'away-btn';
    btn.setAttribute('type', 'button');
    btn.hidden = true;
    H.$('notify-btn').before(btn);
    btn.addEventListener('click', function () {
      if (away === null) return;
      H.api('PUT', '/api/v1/me/availability', { away: !away }).then(set, H.fail);
    });
    return btn;
  }
  function render() {
    var btn = button();
    btn.hidden = away === null;
    if (away === null) return;
    btn.setAttribute('data-t', away ? 'away' : 'available');
    btn.setAttribute('data-t-title', away ? 'away_hint' : 'available_hint');
    btn.textContent = H.t(away ? 'away' : 'available');
    btn.title = H.t(away ? 'away_hint' : 'available_hint');
    btn.classList.toggle('is-away', away);
    btn.setAttribute('aria-pressed', away ? 'true' : 'false');
  }
  /** @param {ApiJson} data {away} */
  function set(data) {
    away = !!data.away;
    render();
  }

  /** The open conversation is accepted if it was offered to him (only a read when it was not). */
  function accept() {
    var id = H.state().current;
    if (id === null) return;
    H.api('POST', '/api/v1/conversations/' + id + '/accept').catch(function () { /* not his */ });
  }

  /** The router's decision told in the page's language from its meta (other activities are
   * left as they are).
   * @param {HTMLElement} node @param {ApiJson} m */
  function retell(node, m) {
    var meta = m.meta || {};
    if (meta.action !== 'auto_assigned') return;
    if (['round_robin', 'returning_customer'].indexOf(meta.reason) === -1) return;
    var body = node.querySelector('.body');
    if (!body) return;
    var vars = {
      name: meta.to_operator_name, from: meta.from_operator_name || '', timeout: meta.timeout_s,
      why: H.t('auto_' + meta.reason), open: meta.open, capacity: meta.capacity
    };
    body.textContent = H.t(meta.from_operator_id != null ? 'auto_passed' : 'auto_assigned', vars);
  }

  document.addEventListener('hub:started', function () {
    H.api('GET', '/api/v1/me/availability').then(set, H.fail);
  });
  document.addEventListener('hub:conversation-opened', accept);
  document.addEventListener('hub:event', function (ev) {
    var detail = /** @type {CustomEvent} */ (ev).detail;
    var me = H.state().me;
    if (detail.name === 'operator.availability' && me && detail.data.operator_id === me.id) set(detail.data);
  });
  H.onActivity(retell);
})();
