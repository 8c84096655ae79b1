// @ts-check
/* The admin area's operators and teams: invite a person by email (POST /api/v1/invites: a
 * one-time link from the mailbox that sends the hub's mail; without one, the link is shown to
 * copy, with why) or create him with a password the admin passes on (POST /api/v1/operators);
 * send an invitation again or a password link by email (POST /api/v1/operators/{id}/invite,
 * /password-link), change his name, role and teams, give him a new password, deactivate him or
 * bring him back; make a team, rename it, set its members (POST/PATCH /api/v1/teams). */
(function () {
  'use strict';
  var A = window.HubAdmin;
  var D = window.HubDom;
  if (!A) return;
  var H = A;
  var el = D.el, t = H.t;

  H.addTexts({
    en: {
      operators: 'Operators', invite: 'Invite an operator', email: 'Email', name: 'Name', role: 'Role',
      role_operator: 'Operator', role_manager: 'Manager', role_admin: 'Admin', teams: 'Teams',
      password: 'Password', password_hint: 'Leave empty to email an invitation with a link to set it; or set one to pass on yourself',
      create: 'Create', save: 'Save', cancel: 'Cancel', edit: 'Edit', active: 'Active',
      inactive: 'Deactivated', deactivate: 'Deactivate', reactivate: 'Reactivate',
      reset_password: 'New password', no_teams: 'No team', you: 'you',
      password_of: 'Password of {name}', confirm_deactivate: 'Deactivate {name}? His sessions end at once.',
      confirm_reset: 'Give {name} a new password? His sessions end at once.',
      team_new: 'New team', team_name: 'Team name', members: 'Members', no_members: 'No members',
      members_count: '{n} members', teams_title: 'Teams', created_ok: 'Created',
      invited: 'Invited', resend: 'Send the invitation again', password_link: 'Email a password link',
      mail_sent: 'Sent to {email} from {sender}', link_of: 'Link for {name} (works once, 7 days)',
      mail_from: 'Invitations and password links are emailed from {sender}.',
      mail_off: 'Mail is not set up: invitations and password links are not emailed, you get the link to pass on. To email them, choose a mailbox: Channels → the mailbox → Edit → “Send the hub’s own mail”.',
      confirm_link: 'Email {name} a link to set a new password?'
    },
    ru: {
      operators: 'Операторы', invite: 'Пригласить оператора', email: 'Email', name: 'Имя', role: 'Роль',
      role_operator: 'Оператор', role_manager: 'Менеджер', role_admin: 'Администратор', teams: 'Команды',
      password: 'Пароль', password_hint: 'Оставьте пустым, и пароль будет создан (покажем один раз)',
      create: 'Создать', save: 'Сохранить', cancel: 'Отмена', edit: 'Изменить', active: 'Активен',
      inactive: 'Отключён', deactivate: 'Отключить', reactivate: 'Включить',
      reset_password: 'Новый пароль', no_teams: 'Без команды', you: 'вы',
      password_of: 'Пароль: {name}', confirm_deactivate: 'Отключить {name}? Все его сеансы завершатся сразу.',
      confirm_reset: 'Выдать {name} новый пароль? Все его сеансы завершатся сразу.',
      team_new: 'Новая команда', team_name: 'Название команды', members: 'Участники', no_members: 'Нет участников',
      members_count: 'Участников: {n}', teams_title: 'Команды', created_ok: 'Создано',
      invited: 'Приглашён', resend: 'Отправить приглашение снова', password_link: 'Прислать ссылку для пароля',
      mail_sent: 'Отправлено на {email} с {sender}', link_of: 'Ссылка для {name} (одноразовая, 7 дней)',
      mail_from: 'Приглашения и ссылки для пароля отправляются с {sender}.',
      mail_off: 'Почта не настроена: приглашения и ссылки не отправляются письмом, вы получите ссылку, чтобы передать её. Чтобы отправлять, выберите ящик: Каналы → ящик → Изменить → «Отправлять письма хаба».',
      confirm_link: 'Отправить {name} ссылку для нового пароля?'
    }
  });

  var ROLES = ['operator', 'manager', 'admin'];
  /** @type {Record<string, boolean>} */
  var open = {};

  /**
   * What came of an email with a link: a note that it went, or the link to copy and why not.
   * @param {ApiJson} made @param {string} name
   */
  function linkSent(made, name) {
    if (made.mail.sent) H.toast(t('mail_sent', { email: made.operator.email, sender: made.mail.sender }));
    else H.showOnce(t('link_of', { name: name }), made.url, made.mail.message);
  }

  /** @param {string} value @param {string} [type] */
  function input(value, type) {
    var node = el('input');
    node.type = type || 'text';
    node.value = value;
    return node;
  }
  /** @param {string} current */
  function roleSelect(current) {
    var select = el('select');
    ROLES.forEach(function (r) {
      var opt = el('option', '', t('role_' + r));
      opt.value = r;
      select.appendChild(opt);
    });
    select.value = current;
    return select;
  }
  /**
   * Checkboxes, one per item, the checked ones those in ``chosen``.
   * @param {ApiJson[]} items @param {number[]} chosen @param {string} name
   */
  function checks(items, chosen, name) {
    var box = el('div', 'checks');
    items.forEach(function (item) {
      var label = el('label');
      var box2 = el('input');
      box2.type = 'checkbox';
      box2.name = name;
      box2.value = String(item.id);
      box2.checked = chosen.indexOf(item.id) >= 0;
      label.appendChild(box2);
      label.appendChild(document.createTextNode(item.name));
      box.appendChild(label);
    });
    return box;
  }
  /** @param {HTMLElement} box @returns {number[]} */
  function checked(box) {
    return D.all('input[type=checkbox]', box).filter(function (n) {
      return n instanceof HTMLInputElement && n.checked;
    }).map(function (n) { return Number(n instanceof HTMLInputElement ? n.value : 0); });
  }
  /** @param {number[]} ids @param {ApiJson[]} items */
  function names(ids, items) {
    return items.filter(function (i) { return ids.indexOf(i.id) >= 0; }).map(function (i) { return i.name; }).join(', ');
  }
  function myId() {
    var me = document.body.getAttribute('data-me');
    return me ? Number(me) : 0;
  }

  /* ---------- operators ---------- */
  /** @param {HTMLElement} box */
  function renderInvite(box) {
    var card = el('div', 'card');
    var toggle = H.button(t('invite'), 'primary');
    toggle.id = 'invite-toggle';
    card.appendChild(toggle);
    var form = el('form', 'admin-form');
    form.id = 'invite-form';
    form.hidden = !open.invite;
    var email = input('', 'email');
    email.name = 'email';
    email.required = true;
    var name = input('');
    name.name = 'name';
    name.required = true;
    var role = roleSelect('operator');
    role.name = 'role';
    var password = input('', 'password');
    password.name = 'password';
    password.autocomplete = 'new-password';
    var row = el('div', 'row');
    row.appendChild(H.field(t('email'), email));
    row.appendChild(H.field(t('name'), name));
    form.appendChild(row);
    var row2 = el('div', 'row');
    row2.appendChild(H.field(t('role'), role));
    row2.appendChild(H.field(t('password'), password, t('password_hint')));
    form.appendChild(row2);
    var teams = checks(H.teams(), [], 'team');
    form.appendChild(H.field(t('teams'), teams));
    var submit = el('button', 'primary', t('create'));
    submit.type = 'submit';
    form.appendChild(submit);
    toggle.addEventListener('click', function () { open.invite = form.hidden; form.hidden = !form.hidden; });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      /** @type {Record<string, unknown>} */
      var body = { email: email.value, name: name.value, role: role.value, team_ids: checked(teams) };
      var done;
      if (password.value) {
        body.password = password.value;
        done = H.api('POST', '/api/v1/operators', body).then(function () { H.toast(t('created_ok')); });
      } else {
        done = H.api('POST', '/api/v1/invites', body).then(function (made) { linkSent(made, made.operator.name); });
      }
      done.then(function () {
        open.invite = false;
        return H.reload();
      }).catch(H.fail);
    });
    card.appendChild(form);
    box.appendChild(card);
  }

  /** @param {ApiJson} op */
  function operatorCard(op) {
    var card = el('div', 'card operator' + (op.active ? '' : ' off'));
    card.setAttribute('data-operator', String(op.id));
    var head = el('div', 'card-head');
    var who = el('div', 'grow');
    who.appendChild(el('h3', '', op.name + (op.id === myId() ? ' (' + t('you') + ')' : '')));
    who.appendChild(el('div', 'muted small', op.email));
    head.appendChild(who);
    head.appendChild(el('span', 'pill role', t('role_' + op.role)));
    head.appendChild(el('span', 'pill' + (op.active ? '' : ' off'), op.active ? t('active') : t('inactive')));
    if (op.invited) head.appendChild(el('span', 'pill invited', t('invited')));
    card.appendChild(head);
    card.appendChild(el('div', 'small muted', names(op.team_ids, H.teams()) || t('no_teams')));
    var buttons = el('div', 'buttons');
    var editBtn = H.button(t('edit'));
    editBtn.setAttribute('data-action', 'edit');
    buttons.appendChild(editBtn);
    var reset = H.button(t('reset_password'));
    reset.setAttribute('data-action', 'password');
    buttons.appendChild(reset);
    if (op.active) {
      var mail = H.button(op.invited ? t('resend') : t('password_link'));
      mail.setAttribute('data-action', op.invited ? 'resend' : 'password-link');
      mail.addEventListener('click', function () {
        if (!op.invited && !window.confirm(t('confirm_link', { name: op.name }))) return;
        H.api('POST', '/api/v1/operators/' + op.id + (op.invited ? '/invite' : '/password-link'), {}).then(function (made) {
          linkSent(made, op.name);
        }).catch(H.fail);
      });
      buttons.appendChild(mail);
    }
    if (op.id !== myId()) {
      var flip = H.button(op.active ? t('deactivate') : t('reactivate'), op.active ? 'danger' : 'ok');
      flip.setAttribute('data-action', 'active');
      flip.addEventListener('click', function () {
        if (op.active && !window.confirm(t('confirm_deactivate', { name: op.name }))) return;
        H.api('PATCH', '/api/v1/operators/' + op.id, { active: !op.active }).then(H.reload).catch(H.fail);
      });
      buttons.appendChild(flip);
    }
    card.appendChild(buttons);
    reset.addEventListener('click', function () {
      if (!window.confirm(t('confirm_reset', { name: op.name }))) return;
      H.api('POST', '/api/v1/operators/' + op.id + '/password', {}).then(function (made) {
        H.showOnce(t('password_of', { name: op.name }), made.password);
      }).catch(H.fail);
    });
    var form = el('form', 'admin-form');
    form.hidden = !open['op' + op.id];
    var name = input(op.name);
    name.name = 'name';
    var role = roleSelect(op.role);
    role.name = 'role';
    role.disabled = op.id === myId();
    var row = el('div', 'row');
    row.appendChild(H.field(t('name'), name));
    row.appendChild(H.field(t('role'), role));
    form.appendChild(row);
    var teams = checks(H.teams(), op.team_ids, 'team');
    form.appendChild(H.field(t('teams'), teams));
    var actions = el('div', 'buttons');
    var save = el('button', 'primary', t('save'));
    save.type = 'submit';
    actions.appendChild(save);
    form.appendChild(actions);
    editBtn.addEventListener('click', function () { open['op' + op.id] = form.hidden; form.hidden = !form.hidden; });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      /** @type {Record<string, unknown>} */
      var body = { name: name.value, team_ids: checked(teams) };
      if (op.id !== myId()) body.role = role.value;
      H.api('PATCH', '/api/v1/operators/' + op.id, body).then(function () {
        open['op' + op.id] = false;
        H.toast(t('saved'));
        return H.reload();
      }).catch(H.fail);
    });
    card.appendChild(form);
    return card;
  }

  H.section('operators', function (box) {
    box.appendChild(el('h2', '', t('operators')));
    /* Asked again at each drawing: the admin may have chosen a mailbox meanwhile. */
    var note = el('p', 'small muted');
    note.id = 'system-mail';
    box.appendChild(note);
    H.api('GET', '/api/v1/system-mail').then(function (d) {
      note.textContent = d.sender ? t('mail_from', { sender: d.sender }) : t('mail_off');
      note.className = 'small ' + (d.sender ? 'muted' : 'warn');
      note.setAttribute('data-sender', d.sender || '');
    }).catch(H.fail);
    renderInvite(box);
    H.operators().forEach(function (op) { box.appendChild(operatorCard(op)); });
  });

  /* ---------- teams ---------- */
  /** @param {ApiJson | null} team */
  function teamCard(team) {
    var card = el('div', 'card team');
    if (team) card.setAttribute('data-team', String(team.id));
    var head = el('div', 'card-head');
    head.appendChild(el('h3', 'grow', team ? team.name : t('team_new')));
    if (team) head.appendChild(el('span', 'pill', t('members_count', { n: team.operator_ids.length })));
    card.appendChild(head);
    var form = el('form', 'admin-form');
    form.className = 'admin-form' + (team ? ' team-form' : ' new-team');
    var name = input(team ? team.name : '');
    name.name = 'name';
    name.required = true;
    form.appendChild(H.field(t('team_name'), name));
    var chosen = team ? team.operator_ids : [];
    /* Deactivated operators still in the team stay listed, so saving keeps them. */
    var members = checks(H.operators().filter(function (o) { return o.active || chosen.indexOf(o.id) >= 0; }), chosen, 'member');
    form.appendChild(H.field(t('members'), members));
    var save = el('button', 'primary', team ? t('save') : t('create'));
    save.type = 'submit';
    form.appendChild(save);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var body = { name: name.value, operator_ids: checked(members) };
      var done = team ? H.api('PATCH', '/api/v1/teams/' + team.id, body) : H.api('POST', '/api/v1/teams', body);
      done.then(function () {
        H.toast(team ? t('saved') : t('created_ok'));
        return H.reload();
      }).catch(H.fail);
    });
    card.appendChild(form);
    if (team) H.teamCardHooks().forEach(function (fn) { fn(team, card); });
    return card;
  }

  H.section('teams', function (box) {
    box.appendChild(el('h2', '', t('teams_title')));
    box.appendChild(teamCard(null));
    H.teams().forEach(function (team) { box.appendChild(teamCard(team)); });
  });
})();
