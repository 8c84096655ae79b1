// @ts-check
/* The admin area's automatic assignment, on each team's card: on or off, the team's capacity
 * (open conversations per operator), the accept timeout, each member's own capacity, and who is
 * online, away or full now. GET and PATCH /api/v1/teams/{team_id}/routing. */
(function () {
  'use strict';
  var A = window.HubAdmin;
  var D = window.HubDom;
  if (!A) return;
  var H = A;
  var el = D.el, t = H.t;

  H.addTexts({
    en: {
      routing: 'Automatic assignment', routing_on: 'Assign new conversations automatically (round robin)',
      capacity: 'Open conversations per operator', accept_timeout: 'Passes to the next if not opened within (seconds; 0: never)',
      own_capacity: 'Own limit', team_default: 'the team\'s', open_now: 'open', online: 'online',
      offline: 'offline', away: 'away', queued: 'Waiting in the queue: {n}', save_routing: 'Save assignment'
    },
    ru: {
      routing: 'Автоматическое распределение', routing_on: 'Назначать новые разговоры автоматически (по очереди)',
      capacity: 'Открытых разговоров на оператора', accept_timeout: 'Передать следующему, если не открыт за (секунд; 0 — никогда)',
      own_capacity: 'Свой лимит', team_default: 'как у команды', open_now: 'открыто', online: 'в сети',
      offline: 'не в сети', away: 'отошёл', queued: 'Ждут в очереди: {n}', save_routing: 'Сохранить распределение'
    }
  });

  /** @param {number} value @param {number} min @param {number} max @param {string} name */
  function number(value, min, max, name) {
    var node = el('input');
    node.type = 'number';
    node.min = String(min);
    node.max = String(max);
    node.value = String(value);
    node.name = name;
    return node;
  }

  /** @param {ApiJson} team @param {HTMLElement} card */
  function routingBlock(team, card) {
    var box = el('form', 'admin-form routing');
    box.setAttribute('data-routing', String(team.id));
    card.appendChild(box);
    H.api('GET', '/api/v1/teams/' + team.id + '/routing').then(function (r) {
      box.appendChild(el('strong', '', t('routing')));
      var on = el('label', 'check');
      var enabled = el('input');
      enabled.type = 'checkbox';
      enabled.name = 'enabled';
      enabled.checked = r.enabled;
      on.appendChild(enabled);
      on.appendChild(document.createTextNode(' ' + t('routing_on')));
      box.appendChild(on);
      var row = el('div', 'row');
      var capacity = number(r.capacity, 1, 1000, 'capacity');
      var timeout = number(r.accept_timeout_s, 0, 86400, 'accept_timeout_s');
      row.appendChild(H.field(t('capacity'), capacity));
      row.appendChild(H.field(t('accept_timeout'), timeout));
      box.appendChild(row);
      box.appendChild(el('div', 'small muted', t('queued', { n: r.queued })));
      /** @type {Record<string, HTMLInputElement>} */
      var own = {};
      r.members.forEach(/** @param {ApiJson} m */ function (m) {
        var line = el('div', 'stage-row');
        line.setAttribute('data-member', String(m.operator_id));
        var state = m.away ? t('away') : m.online ? t('online') : t('offline');
        line.appendChild(el('span', 'grow', m.name + ' · ' + state + ' · ' + m.open + ' ' + t('open_now')));
        var input = el('input');
        input.type = 'number';
        input.min = '1';
        input.max = '1000';
        input.placeholder = t('team_default');
        input.setAttribute('aria-label', t('own_capacity') + ': ' + m.name);
        input.value = m.capacity === null ? '' : String(m.capacity);
        own[m.operator_id] = input;
        line.appendChild(input);
        box.appendChild(line);
      });
      var save = el('button', 'primary', t('save_routing'));
      save.type = 'submit';
      box.appendChild(save);
      box.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var members = Object.keys(own).map(function (id) {
          var v = own[id].value;
          return { operator_id: Number(id), capacity: v ? Number(v) : null };
        });
        H.api('PATCH', '/api/v1/teams/' + team.id + '/routing', {
          enabled: enabled.checked, capacity: Number(capacity.value), accept_timeout_s: Number(timeout.value), members: members
        }).then(function () { H.toast(t('saved')); return H.reload(); }).catch(H.fail);
      });
    }).catch(H.fail);
  }

  H.onTeamCard(routingBlock);
})();
