// @ts-check
/* The admin area's channels: connect one (a website chat, a Telegram bot, a mailbox, an API
 * channel; its secret shown once), rename it, give it a team, deactivate it, give it a new
 * secret, and change its settings as its type allows (PATCH /api/v1/channels/{id}: the server's
 * type validates them). A website chat's look, language, greeting, pre-chat form and allowed
 * sites are edited beside a live preview, with the snippet a site pastes. */
(function () {
  'use strict';
  var A = window.HubAdmin;
  var D = window.HubDom;
  if (!A) return;
  var H = A;
  var el = D.el, t = H.t;

  H.addTexts({
    en: {
      channels: 'Channels', connect: 'Connect a channel', type: 'Type', name: 'Name', team: 'Team',
      no_team: 'No team (only managers and admins see its chats)', create: 'Create', save: 'Save',
      edit: 'Edit', active: 'Active', inactive: 'Deactivated', deactivate: 'Deactivate',
      reactivate: 'Reactivate', new_secret: 'New secret',
      confirm_secret: 'Make a new secret for {name}? The old one stops working at once.',
      confirm_off: 'Deactivate {name}? It takes no customer messages until reactivated; its conversations stay.',
      secret_of: 'Secret of {name}', webhook_secret_of: 'Callbacks of {name} verify with',
      bot_token: 'Bot token (from @BotFather)', address: 'Mailbox address', preset: 'Mail service',
      preset_custom: 'Other (servers below)', mail_password: 'Password (an app password)',
      imap_host: 'IMAP server', smtp_host: 'SMTP server', display_name: 'Name in From',
      callback_url: 'Callback URL (replies are POSTed there)', auto_leads: 'A new contact\'s first conversation becomes a lead',
      color: 'Colour', position: 'Position', pos_right: 'Bottom right', pos_left: 'Bottom left',
      widget_lang: 'Widget language', greeting: 'Greeting', greeting_hint: 'Shown to a visitor after the delay; empty: none',
      greeting_delay: 'Greeting after (seconds)', prechat: 'Ask before the chat starts',
      field_name: 'Name', field_email: 'Email', field_phone: 'Phone', mode_required: 'required',
      mode_optional: 'optional', mode_off: 'not asked', allowed_sites: 'Allowed sites',
      allowed_hint: 'One per line, like https://shop.ru; empty: any site', require_identity: 'Only visitors the site identifies (identifier_hash)',
      reply_wait: 'Offer to leave a phone or email after (seconds)', preview: 'Preview', snippet: 'Paste before </body> on the site',
      copy: 'Copy', copied: 'Copied', bot: 'Bot', mailbox: 'Mailbox',
      email_fixed: 'Servers, address and passwords are checked when a mailbox is connected: to change them, connect it anew.',
      linked_chats: 'Answers by email the visitors who left these website chats',
      plus_addressing: 'Reply-To with a thread token (sales+…@)', settings_other: 'Settings',
      tracking: 'Track opens and clicks of the emails operators send (each can still be sent untracked)',
      system_mail: 'Send the hub’s own mail from this mailbox (operators’ invitations, password links)',
      ln_ru: 'Russian', ln_en: 'English', saved: 'Saved', created_ok: 'Created',
      provider: 'Provider', calls_hint: 'The lines to paste in the provider\'s cabinet, with the webhook URL, are shown once.',
      calls_no_secrets: 'This provider signs nothing: the webhook URL, shown once, holds the channel\'s secret.',
      sec_auth_token: 'Auth Token (Twilio console, Account Info)', sec_api_secret: 'API secret (Settings → API)',
      sec_api_key_zadarma: 'API key (Settings → API): to fetch call recordings', sec_api_key_mango: 'API key (unique code of the VPBX)',
      sec_api_salt: 'API salt (signature key of the VPBX)',
      setup_of: 'Paste in the provider\'s cabinet:', answer_within: 'A call ringing this long is missed (seconds; empty: the provider decides)',
      callback_due: 'A call-back task is due after (minutes)',
      new_secrets: 'The provider\'s secrets: fill in only those to change (they are never shown)'
    },
    ru: {
      channels: 'Каналы', connect: 'Подключить канал', type: 'Тип', name: 'Название', team: 'Команда',
      no_team: 'Без команды (его чаты видят только менеджеры и администраторы)', create: 'Создать', save: 'Сохранить',
      edit: 'Изменить', active: 'Активен', inactive: 'Отключён', deactivate: 'Отключить',
      reactivate: 'Включить', new_secret: 'Новый секрет',
      confirm_secret: 'Создать новый секрет для «{name}»? Старый сразу перестанет работать.',
      confirm_off: 'Отключить «{name}»? Он не будет принимать сообщения клиентов, пока его не включат; разговоры останутся.',
      secret_of: 'Секрет канала «{name}»', webhook_secret_of: 'Обратные вызовы «{name}» проверяются ключом',
      bot_token: 'Токен бота (от @BotFather)', address: 'Адрес ящика', preset: 'Почтовый сервис',
      preset_custom: 'Другой (серверы ниже)', mail_password: 'Пароль (пароль приложения)',
      imap_host: 'Сервер IMAP', smtp_host: 'Сервер SMTP', display_name: 'Имя отправителя',
      callback_url: 'URL обратного вызова (туда отправляются ответы)', auto_leads: 'Первый разговор нового контакта становится лидом',
      color: 'Цвет', position: 'Положение', pos_right: 'Справа внизу', pos_left: 'Слева внизу',
      widget_lang: 'Язык виджета', greeting: 'Приветствие', greeting_hint: 'Показывается посетителю через заданное время; пусто — без приветствия',
      greeting_delay: 'Приветствие через (секунд)', prechat: 'Спрашивать до начала чата',
      field_name: 'Имя', field_email: 'Email', field_phone: 'Телефон', mode_required: 'обязательно',
      mode_optional: 'по желанию', mode_off: 'не спрашивать', allowed_sites: 'Разрешённые сайты',
      allowed_hint: 'По одному в строке, например https://shop.ru; пусто — любой сайт', require_identity: 'Только посетители, которых опознал сайт (identifier_hash)',
      reply_wait: 'Предложить оставить телефон или email через (секунд)', preview: 'Предпросмотр', snippet: 'Вставьте перед </body> на сайте',
      copy: 'Копировать', copied: 'Скопировано', bot: 'Бот', mailbox: 'Ящик',
      email_fixed: 'Серверы, адрес и пароли проверяются при подключении ящика: чтобы изменить их, подключите его заново.',
      linked_chats: 'Отвечает по почте посетителям, ушедшим из этих чатов сайта',
      plus_addressing: 'Reply-To с меткой переписки (sales+…@)', settings_other: 'Настройки',
      tracking: 'Отслеживать открытия и переходы в письмах операторов (каждое можно отправить без отслеживания)',
      system_mail: 'Отправлять письма хаба с этого ящика (приглашения операторов, ссылки для пароля)',
      ln_ru: 'Русский', ln_en: 'Английский', saved: 'Сохранено', created_ok: 'Создано',
      provider: 'Провайдер', calls_hint: 'Строки для кабинета провайдера, с адресом вебхука, покажем один раз.',
      calls_no_secrets: 'Этот провайдер ничего не подписывает: секрет канала — в адресе вебхука, который покажем один раз.',
      sec_auth_token: 'Auth Token (консоль Twilio, Account Info)', sec_api_secret: 'Секрет API (Настройки → API)',
      sec_api_key_zadarma: 'Ключ API (Настройки → API): чтобы забирать записи звонков', sec_api_key_mango: 'Ключ API (уникальный код ВАТС)',
      sec_api_salt: 'Соль API (ключ подписи ВАТС)',
      setup_of: 'Вставьте в кабинете провайдера:', answer_within: 'Звонок, звонящий дольше, — пропущенный (секунд; пусто — решает провайдер)',
      callback_due: 'Задача «перезвонить» — через (минут)',
      new_secrets: 'Секреты провайдера: заполните только те, что меняете (они не показываются)'
    }
  });
  /* The widget's own words in the preview, in the language chosen for it (not the admin's). */
  var WIDGET_WORDS = {
    en: { chat: 'Chat', online: 'We are online', ph: 'Write a message…', intro: 'Please introduce yourself', go: 'Start chat', name: 'Name', email: 'Email', phone: 'Phone' },
    ru: { chat: 'Чат', online: 'Мы на связи', ph: 'Напишите сообщение…', intro: 'Представьтесь, пожалуйста', go: 'Начать чат', name: 'Имя', email: 'Email', phone: 'Телефон' }
  };

  /** @type {{channels: ApiJson[], types: ApiJson[], editing: number | null, connecting: boolean}} */
  var C = { channels: [], types: [], editing: null, connecting: false };

  /** @type {Array<[string, string]>} the telephony providers (hub/channels/calls/dialects.py) */
  var PROVIDERS = [['twilio', 'Twilio'], ['zadarma', 'Zadarma'], ['mango', 'Mango Office'], ['sipuni', 'Sipuni'],
    ['uis', 'UIS / CoMagic'], ['telphin', 'Telphin'], ['calltouch', 'Calltouch']];
  /**
   * Each provider's secrets, as its dialect declares them (``secrets=`` in hub/channels/calls,
   * checked by tests/test_admin_call_secrets.py): the key, its label's text and whether the
   * channel needs it. A provider not listed signs nothing.
   * @type {Record<string, Array<[string, string, boolean]>>}
   */
  var CALL_SECRETS = {
    twilio: [['auth_token', 'sec_auth_token', true]],
    zadarma: [['api_secret', 'sec_api_secret', true], ['api_key', 'sec_api_key_zadarma', false]],
    mango: [['api_key', 'sec_api_key_mango', true], ['api_salt', 'sec_api_salt', true]]
  };
  /** The provider's secret inputs, labelled in the admin's words.
   * @param {string} provider @param {boolean} connecting whether the channel is being connected (its required ones are then asked) */
  function secretFields(provider, connecting) {
    return (CALL_SECRETS[provider] || []).map(function (s) {
      var node = input('', 'password', s[0]);
      node.required = connecting && s[2];
      node.autocomplete = 'off';
      node.setAttribute('data-secret', '');
      return { input: node, field: H.field(t(s[1]), node) };
    });
  }

  function load() {
    return Promise.all([H.api('GET', '/api/v1/channels'), H.api('GET', '/api/v1/channel-types')]).then(function (all) {
      C.channels = all[0].items;
      C.types = all[1].items;
    });
  }
  function refresh() { return load().then(H.reload); }

  /** @param {string} value @param {string} [type] @param {string} [name] */
  function input(value, type, name) {
    var node = el('input');
    node.type = type || 'text';
    node.value = value;
    if (name) node.name = name;
    return node;
  }
  /** @param {Array<[string, string]>} options @param {string} value @param {string} [name] */
  function select(options, value, name) {
    var node = el('select');
    options.forEach(function (o) {
      var opt = el('option', '', o[1]);
      opt.value = o[0];
      node.appendChild(opt);
    });
    node.value = value;
    if (name) node.name = name;
    return node;
  }
  /** @param {string} label @param {boolean} on @param {string} name */
  function checkbox(label, on, name) {
    var box = el('label', 'check');
    var node = el('input');
    node.type = 'checkbox';
    node.checked = on;
    node.name = name;
    box.appendChild(node);
    box.appendChild(document.createTextNode(' ' + label));
    return { label: box, input: node };
  }
  /** @param {number | null} current */
  function teamSelect(current) {
    /** @type {Array<[string, string]>} */
    var options = [['', t('no_team')]];
    H.teams().forEach(function (team) { options.push([String(team.id), team.name]); });
    return select(options, current === null ? '' : String(current), 'team_id');
  }
  /** @param {ApiJson} made the answer of a create or a new secret */
  function showSecret(made) {
    var text = made.secret;
    if (made.webhook_secret) text += '\n' + t('webhook_secret_of', { name: made.name }) + ': ' + made.webhook_secret;
    if (made.setup) text += '\n\n' + t('setup_of') + '\n' + made.setup.join('\n');
    H.showOnce(t('secret_of', { name: made.name }), text);
  }

  /* ---------- connecting ---------- */
  /** @param {string} type @param {HTMLElement} box */
  function typeFields(type, box) {
    D.clear(box);
    if (type === 'telegram') box.appendChild(H.field(t('bot_token'), input('', 'password', 'token')));
    if (type === 'api') box.appendChild(H.field(t('callback_url'), input('', 'url', 'callback_url')));
    if (type === 'calls') {
      var provider = select(PROVIDERS, 'twilio', 'provider');
      box.appendChild(H.field(t('provider'), provider));
      var keys = el('div', 'row');
      keys.id = 'call-secrets';
      var hint = el('p', 'muted small');
      var showSecrets = function () {
        D.clear(keys);
        var fields = secretFields(provider.value, true);
        fields.forEach(function (f) { keys.appendChild(f.field); });
        keys.hidden = !fields.length;
        hint.textContent = fields.length ? t('calls_hint') : t('calls_no_secrets');
      };
      provider.addEventListener('change', showSecrets);
      showSecrets();
      box.appendChild(keys);
      box.appendChild(hint);
    }
    if (type === 'email') {
      var row = el('div', 'row');
      row.appendChild(H.field(t('address'), input('', 'email', 'address')));
      row.appendChild(H.field(t('display_name'), input('', 'text', 'display_name')));
      box.appendChild(row);
      var row2 = el('div', 'row');
      row2.appendChild(H.field(t('preset'), select([['yandex', 'Yandex 360'], ['mailru', 'Mail.ru'], ['', t('preset_custom')]], 'yandex', 'preset')));
      row2.appendChild(H.field(t('mail_password'), input('', 'password', 'password')));
      box.appendChild(row2);
      var row3 = el('div', 'row');
      row3.appendChild(H.field(t('imap_host'), input('', 'text', 'imap_host')));
      row3.appendChild(H.field(t('smtp_host'), input('', 'text', 'smtp_host')));
      box.appendChild(row3);
    }
  }
  /** @param {HTMLFormElement} form @param {string} type */
  function connectBody(form, type) {
    /** @param {string} n */
    function v(n) { return D.control(form, n).value; }
    /** @type {Record<string, unknown>} */
    var body = { type: type, name: v('name') };
    if (v('team_id')) body.team_id = Number(v('team_id'));
    if (type === 'telegram') body.token = v('token');
    if (type === 'api' && v('callback_url')) body.callback_url = v('callback_url');
    if (type === 'calls') {
      body.provider = v('provider');
      D.all('#call-secrets input[data-secret]').forEach(function (node) {
        var secret = /** @type {HTMLInputElement} */ (node);
        if (secret.value) body[secret.name] = secret.value;
      });
    }
    if (type === 'email') {
      body.address = v('address');
      if (v('display_name')) body.display_name = v('display_name');
      if (v('preset')) body.preset = v('preset');
      body.imap = { password: v('password') };
      body.smtp = {};
      if (v('imap_host')) body.imap = { password: v('password'), host: v('imap_host') };
      if (v('smtp_host')) body.smtp = { host: v('smtp_host') };
    }
    return body;
  }
  /** @param {HTMLElement} box */
  function renderConnect(box) {
    var card = el('div', 'card');
    var toggle = H.button(t('connect'), 'primary');
    toggle.id = 'connect-toggle';
    card.appendChild(toggle);
    var form = el('form', 'admin-form');
    form.id = 'connect-form';
    form.hidden = !C.connecting;
    /** @type {Array<[string, string]>} */
    var types = C.types.map(function (ty) {
      var title = window.HubLocale ? window.HubLocale.channelType(ty.type, H.lang()) : ty.title;
      return /** @type {[string, string]} */ ([ty.type, title]);
    });
    var type = select(types, 'widget', 'type');
    var row = el('div', 'row');
    row.appendChild(H.field(t('type'), type));
    var name = input('', 'text', 'name');
    name.required = true;
    row.appendChild(H.field(t('name'), name));
    row.appendChild(H.field(t('team'), teamSelect(H.teams().length ? H.teams()[0].id : null)));
    form.appendChild(row);
    var extra = el('div', 'admin-form');
    form.appendChild(extra);
    typeFields(type.value, extra);
    type.addEventListener('change', function () { typeFields(type.value, extra); });
    var submit = el('button', 'primary', t('create'));
    submit.type = 'submit';
    form.appendChild(submit);
    toggle.addEventListener('click', function () { C.connecting = form.hidden; form.hidden = !form.hidden; });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      submit.disabled = true;
      H.api('POST', '/api/v1/channels', connectBody(form, type.value)).then(function (made) {
        C.connecting = false;
        C.editing = made.id;
        showSecret(made);
        return refresh();
      }).catch(H.fail).then(function () { submit.disabled = false; });
    });
    card.appendChild(form);
    box.appendChild(card);
  }

  /* ---------- a website chat's settings, with its preview ---------- */
  /** @param {ApiJson} cfg the widget's settings being edited @param {HTMLElement} box */
  function renderPreview(cfg, box) {
    D.clear(box);
    var words = WIDGET_WORDS[cfg.lang === 'en' ? 'en' : 'ru'];
    var side = cfg.position === 'left' ? 'left' : 'right';
    var panel = el('div', 'pv-panel ' + side);
    var head = el('div', 'pv-head', words.chat + ' · ' + words.online);
    head.style.background = cfg.color;
    panel.appendChild(head);
    var body = el('div', 'pv-body');
    if (cfg.prechat.enabled) {
      body.appendChild(el('strong', 'pv-intro', words.intro));
      ['name', 'email', 'phone'].forEach(function (f) {
        var mode = cfg.prechat.fields[f];
        if (mode === 'off') return;
        body.appendChild(el('div', 'pv-input pv-field', words[/** @type {'name'|'email'|'phone'} */ (f)] + (mode === 'required' ? ' *' : '')));
      });
      var go = el('div', 'pv-head pv-go', words.go);
      go.style.background = cfg.color;
      body.appendChild(go);
    } else {
      if (cfg.greeting) body.appendChild(el('div', 'pv-bubble pv-greeting', cfg.greeting.text));
      body.appendChild(el('div', 'pv-input', words.ph));
    }
    panel.appendChild(body);
    box.appendChild(panel);
    var launcher = el('div', 'pv-launcher ' + side);
    launcher.style.background = cfg.color;
    box.appendChild(launcher);
  }
  /** @param {ApiJson} ch */
  function snippetText(ch) {
    return '<script src="' + location.origin + '/widget.js" data-channel="' + ch.website_token + '" async></' + 'script>';
  }
  /** @param {ApiJson} ch @param {HTMLFormElement} form @returns {() => Record<string, unknown>} */
  function widgetEditor(ch, form) {
    var cfg = JSON.parse(JSON.stringify(ch.config));
    var grid = el('div', 'editor-grid');
    var left = el('div', 'admin-form');
    var right = el('div', 'admin-form');
    grid.appendChild(left);
    grid.appendChild(right);
    form.appendChild(grid);
    var color = input(cfg.color, 'color', 'color');
    var position = select([['right', t('pos_right')], ['left', t('pos_left')]], cfg.position, 'position');
    var lang = select([['ru', t('ln_ru')], ['en', t('ln_en')]], cfg.lang, 'lang');
    var row = el('div', 'row');
    row.appendChild(H.field(t('color'), color));
    row.appendChild(H.field(t('position'), position));
    row.appendChild(H.field(t('widget_lang'), lang));
    left.appendChild(row);
    var greeting = el('textarea');
    greeting.name = 'greeting';
    greeting.rows = 2;
    greeting.maxLength = 500;
    greeting.value = cfg.greeting ? cfg.greeting.text : '';
    left.appendChild(H.field(t('greeting'), greeting, t('greeting_hint')));
    var delay = input(String(cfg.greeting ? cfg.greeting.delay_s : 5), 'number', 'greeting_delay');
    delay.min = '0';
    delay.max = '600';
    var wait = input(String(cfg.reply_wait_s), 'number', 'reply_wait_s');
    wait.min = '5';
    wait.max = '3600';
    var row2 = el('div', 'row');
    row2.appendChild(H.field(t('greeting_delay'), delay));
    row2.appendChild(H.field(t('reply_wait'), wait));
    left.appendChild(row2);
    var prechat = checkbox(t('prechat'), cfg.prechat.enabled, 'prechat');
    left.appendChild(prechat.label);
    var fieldsRow = el('div', 'row');
    /** @type {Record<string, HTMLSelectElement>} */
    var modes = {};
    ['name', 'email', 'phone'].forEach(function (f) {
      modes[f] = select([['required', t('mode_required')], ['optional', t('mode_optional')], ['off', t('mode_off')]], cfg.prechat.fields[f], 'field_' + f);
      fieldsRow.appendChild(H.field(t('field_' + f), modes[f]));
    });
    left.appendChild(fieldsRow);
    var sites = el('textarea');
    sites.name = 'allowed_origins';
    sites.rows = 3;
    sites.value = cfg.allowed_origins.join('\n');
    left.appendChild(H.field(t('allowed_sites'), sites, t('allowed_hint')));
    var identity = checkbox(t('require_identity'), cfg.require_identity, 'require_identity');
    left.appendChild(identity.label);
    var leads = checkbox(t('auto_leads'), cfg.auto_leads, 'auto_leads');
    left.appendChild(leads.label);
    right.appendChild(el('strong', '', t('preview')));
    var preview = el('div', 'preview');
    preview.id = 'widget-preview';
    right.appendChild(preview);
    right.appendChild(el('strong', '', t('snippet')));
    var snippet = el('code', 'snippet', snippetText(ch));
    snippet.id = 'widget-snippet';
    right.appendChild(snippet);
    var copy = H.button(t('copy'));
    copy.addEventListener('click', function () {
      if (navigator.clipboard) navigator.clipboard.writeText(snippetText(ch)).then(function () { copy.textContent = t('copied'); }, H.fail);
    });
    right.appendChild(copy);

    function settings() {
      var text = greeting.value.trim();
      return {
        color: color.value, position: position.value, lang: lang.value,
        greeting: text ? { text: text, delay_s: Number(delay.value) || 0 } : null,
        prechat: { enabled: prechat.input.checked, fields: { name: modes.name.value, email: modes.email.value, phone: modes.phone.value } },
        allowed_origins: sites.value.split('\n').map(function (s) { return s.trim(); }).filter(Boolean),
        require_identity: identity.input.checked, auto_leads: leads.input.checked,
        reply_wait_s: Number(wait.value) || 120
      };
    }
    function update() { renderPreview(settings(), preview); }
    form.addEventListener('input', update);
    form.addEventListener('change', update);
    update();
    return settings;
  }

  /* ---------- editing any channel ---------- */
  /** @param {ApiJson} ch @param {HTMLFormElement} form @returns {() => Record<string, unknown> | null} */
  function settingsEditor(ch, form) {
    var cfg = ch.config || {};
    if (ch.type === 'widget') return widgetEditor(ch, form);
    var leads = checkbox(t('auto_leads'), cfg.auto_leads !== false, 'auto_leads');
    if (ch.type === 'telegram') {
      form.appendChild(el('div', '', t('bot') + ': @' + cfg.username));
      form.appendChild(leads.label);
      return function () { return { auto_leads: leads.input.checked }; };
    }
    if (ch.type === 'api') {
      var url = input(cfg.callback_url || '', 'url', 'callback_url');
      form.appendChild(H.field(t('callback_url'), url));
      form.appendChild(leads.label);
      return function () { return { callback_url: url.value || null, auto_leads: leads.input.checked }; };
    }
    if (ch.type === 'calls') {
      var named = PROVIDERS.filter(function (pr) { return pr[0] === cfg.provider; })[0];
      form.appendChild(el('div', '', t('provider') + ': ' + (named ? named[1] : cfg.provider)));
      var within = input(cfg.answer_within_s === null || cfg.answer_within_s === undefined ? '' : String(cfg.answer_within_s), 'number', 'answer_within_s');
      var due = input(String(cfg.callback_due_minutes), 'number', 'callback_due_minutes');
      var row = el('div', 'row');
      row.appendChild(H.field(t('answer_within'), within));
      row.appendChild(H.field(t('callback_due'), due));
      form.appendChild(row);
      var secrets = secretFields(cfg.provider, false);
      if (secrets.length) {
        var keys = el('div', 'row');
        secrets.forEach(function (f) { keys.appendChild(f.field); });
        form.appendChild(el('p', 'muted small', t('new_secrets')));
        form.appendChild(keys);
      }
      form.appendChild(leads.label);
      return function () {
        /** @type {Record<string, unknown>} */
        var out = { answer_within_s: within.value ? Number(within.value) : null, callback_due_minutes: Number(due.value) || 0, auto_leads: leads.input.checked };
        secrets.forEach(function (f) { if (f.input.value) out[f.input.name] = f.input.value; });
        return out;
      };
    }
    if (ch.type === 'email') {
      form.appendChild(el('div', '', t('mailbox') + ': ' + cfg.address + ' · IMAP ' + cfg.imap.host + ' · SMTP ' + cfg.smtp.host));
      form.appendChild(el('p', 'muted small', t('email_fixed')));
      var display = input(cfg.display_name || '', 'text', 'display_name');
      form.appendChild(H.field(t('display_name'), display));
      var plus = checkbox(t('plus_addressing'), cfg.plus_addressing !== false, 'plus_addressing');
      form.appendChild(plus.label);
      var tracked = checkbox(t('tracking'), cfg.tracking !== false, 'tracking');
      form.appendChild(tracked.label);
      var system = checkbox(t('system_mail'), cfg.system_mail === true, 'system_mail');
      form.appendChild(system.label);
      var chats = el('div', 'checks');
      C.channels.filter(function (c) { return c.type === 'widget'; }).forEach(function (c) {
        var box = checkbox(c.name, (cfg.linked_widget_channel_ids || []).indexOf(c.id) >= 0, 'linked');
        box.input.value = String(c.id);
        chats.appendChild(box.label);
      });
      form.appendChild(H.field(t('linked_chats'), chats));
      form.appendChild(leads.label);
      return function () {
        var linked = D.all('input[name=linked]', chats).filter(function (n) { return n instanceof HTMLInputElement && n.checked; })
          .map(function (n) { return Number(n instanceof HTMLInputElement ? n.value : 0); });
        return {
          display_name: display.value, plus_addressing: plus.input.checked, tracking: tracked.input.checked,
          system_mail: system.input.checked,
          linked_widget_channel_ids: linked, auto_leads: leads.input.checked
        };
      };
    }
    form.appendChild(H.field(t('settings_other'), el('code', 'snippet', JSON.stringify(cfg, null, 2))));
    return function () { return null; };
  }

  /** @param {ApiJson} ch */
  function channelCard(ch) {
    var card = el('div', 'card channel' + (ch.active ? '' : ' off'));
    card.setAttribute('data-channel', String(ch.id));
    var head = el('div', 'card-head');
    head.appendChild(D.channelBadge(ch.type));
    head.appendChild(el('h3', 'grow', ch.name));
    head.appendChild(el('span', 'pill' + (ch.active ? '' : ' off'), ch.active ? t('active') : t('inactive')));
    card.appendChild(head);
    var team = H.teams().filter(function (tm) { return tm.id === ch.team_id; })[0];
    card.appendChild(el('div', 'small muted', team ? team.name : t('no_team')));
    var buttons = el('div', 'buttons');
    var editBtn = H.button(t('edit'));
    editBtn.setAttribute('data-action', 'edit');
    var secret = H.button(t('new_secret'));
    secret.setAttribute('data-action', 'secret');
    var flip = H.button(ch.active ? t('deactivate') : t('reactivate'), ch.active ? 'danger' : 'ok');
    flip.setAttribute('data-action', 'active');
    buttons.appendChild(editBtn);
    buttons.appendChild(secret);
    buttons.appendChild(flip);
    card.appendChild(buttons);
    secret.addEventListener('click', function () {
      if (!window.confirm(t('confirm_secret', { name: ch.name }))) return;
      H.api('POST', '/api/v1/channels/' + ch.id + '/secret').then(showSecret).catch(H.fail);
    });
    flip.addEventListener('click', function () {
      if (ch.active && !window.confirm(t('confirm_off', { name: ch.name }))) return;
      H.api('PATCH', '/api/v1/channels/' + ch.id, { active: !ch.active }).then(refresh).catch(H.fail);
    });
    editBtn.addEventListener('click', function () {
      C.editing = C.editing === ch.id ? null : ch.id;
      H.reload().catch(H.fail);
    });
    if (C.editing !== ch.id) return card;
    var form = el('form', 'admin-form channel-form');
    var row = el('div', 'row');
    var name = input(ch.name, 'text', 'name');
    name.required = true;
    row.appendChild(H.field(t('name'), name));
    var teamSel = teamSelect(ch.team_id);
    row.appendChild(H.field(t('team'), teamSel));
    form.appendChild(row);
    var read = settingsEditor(ch, form);
    var save = el('button', 'primary', t('save'));
    save.type = 'submit';
    form.appendChild(save);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      /** @type {Record<string, unknown>} */
      var body = { name: name.value, team_id: teamSel.value ? Number(teamSel.value) : null };
      var settings = read();
      if (settings) body.settings = settings;
      H.api('PATCH', '/api/v1/channels/' + ch.id, body).then(function () {
        C.editing = null;
        H.toast(t('saved'));
        return refresh();
      }).catch(H.fail);
    });
    card.appendChild(form);
    return card;
  }

  H.section('channels', function (box) {
    box.appendChild(el('h2', '', t('channels')));
    renderConnect(box);
    C.channels.forEach(function (ch) { box.appendChild(channelCard(ch)); });
  }, function () {
    return Promise.all([load(), D.loadChannelTypes()]).then(function () { return undefined; });
  });
})();
