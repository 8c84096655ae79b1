// @ts-check
/* "+ Deal" on the pipeline board (/inbox/deals): a deal made by hand. The customer is found by
 * name, email or phone in any spelling (GET /api/v1/contacts?q=, which also finds customers
 * with no conversation) and by what he wrote (GET /api/v1/conversations?q=); one the hub does
 * not know yet is made with the deal ("+ New customer": a name and a phone or an email; a known
 * phone or email answers 409 contact_exists, and the page looks him up to pick). The deal goes
 * into the board's pipeline at the stage chosen (the first by default) with the operator as its
 * owner (POST /api/v1/deals), and its page opens.
 * Self-contained beside deals.js: its words are its own (data-nd attributes), written again when
 * the page's language is switched. */
(function () {
  'use strict';
  var D = window.HubDom;

  /** @type {Texts} */
  var TEXTS = {
    en: {
      new_deal: '+ Deal', customer: 'Customer', search: 'Name, phone or email…', title: 'Title',
      amount: 'Amount', stage: 'Stage', create: 'Create the deal', cancel: 'Cancel',
      pick: 'Find the customer first', none: 'Nobody found: make a new customer', untitled: 'Customer #{id}',
      new_customer: '+ New customer', new_customer_title: 'New customer', name: 'Name', phone: 'Phone',
      email: 'Email', new_details: 'Give the customer a name and a phone or an email',
      exists: 'This customer is known already: pick him in the list'
    },
    ru: {
      new_deal: '+ Сделка', customer: 'Клиент', search: 'Имя, телефон или почта…', title: 'Название',
      amount: 'Сумма', stage: 'Этап', create: 'Создать сделку', cancel: 'Отмена',
      pick: 'Сначала найдите клиента', none: 'Никого не нашли: создайте нового клиента', untitled: 'Клиент #{id}',
      new_customer: '+ Новый клиент', new_customer_title: 'Новый клиент', name: 'Имя', phone: 'Телефон',
      email: 'Почта', new_details: 'Укажите имя клиента и телефон или почту',
      exists: 'Такой клиент уже есть: выберите его в списке'
    }
  };
  /** @type {{csrf: string, pipelines: ApiJson[], timer: number | undefined, seq: number}} */
  var S = { csrf: '', pipelines: [], timer: undefined, seq: 0 };

  /** @param {string} key @param {Record<string, string | number>} [vars] */
  function t(key, vars) {
    var lang = D.pickLang();
    return D.format(TEXTS[lang][key] || TEXTS.en[key] || key, vars);
  }
  function translate() {
    D.all('[data-nd]').forEach(function (node) { node.textContent = t(node.getAttribute('data-nd') || ''); });
    D.all('[data-nd-placeholder]').forEach(function (node) {
      node.setAttribute('placeholder', t(node.getAttribute('data-nd-placeholder') || ''));
    });
    fillStages();
  }
  function form() { return D.$('new-deal-form', HTMLFormElement); }
  /** @returns {ApiJson} the pipeline the board shows */
  function shownPipeline() {
    var id = Number(D.$('f-pipeline', HTMLSelectElement).value);
    var found = S.pipelines.filter(function (p) { return p.id === id; })[0];
    return found || S.pipelines.filter(function (p) { return p.is_default; })[0] || null;
  }
  function fillStages() {
    var select = D.control(form(), 'stage_id');
    var keep = select.value;
    D.clear(select);
    var p = shownPipeline();
    (p ? p.stages : []).forEach(/** @param {ApiJson} st */ function (st) {
      if (st.kind !== 'open') return;
      var opt = D.el('option', '', D.defaultName(st.name, D.pickLang()));
      opt.value = String(st.id);
      select.appendChild(opt);
    });
    if (keep) select.value = keep;
  }
  /** @param {string} id */
  function nc(id) { return D.control(form(), id); }
  function making() { return !D.$('new-contact').hidden; }
  /**
   * Customers for the search text, each once: by name, email and phone first, then by what
   * they wrote.
   * @param {string} q @param {function(): void} [then]
   */
  function search(q, then) {
    var select = D.find('#new-deal-form [name=contact_id]', HTMLSelectElement);
    var seq = ++S.seq;
    if (q.length < 2) { D.clear(select); return; }
    var path = encodeURIComponent(q);
    Promise.all([
      D.request('GET', '/api/v1/contacts?limit=25&q=' + path),
      D.request('GET', '/api/v1/conversations?limit=25&q=' + path)
    ]).then(function (both) {
      if (seq !== S.seq) return;
      D.clear(select);
      /** @type {Record<string, boolean>} */
      var seen = {};
      /** @param {number} id @param {string} label */
      function add(id, label) {
        if (seen[id]) return;
        seen[id] = true;
        var opt = D.el('option', '', label);
        opt.value = String(id);
        select.appendChild(opt);
      }
      both[0].items.forEach(/** @param {ApiJson} c */ function (c) {
        var details = c.phones.concat(c.emails).slice(0, 2).join(', ');
        add(c.id, (c.name || t('untitled', { id: c.id })) + (details ? ' · ' + details : ''));
      });
      both[1].items.forEach(/** @param {ApiJson} c */ function (c) {
        var name = c.contact && c.contact.name ? c.contact.name : t('untitled', { id: c.contact_id });
        add(c.contact_id, name + (c.channel ? ' · ' + c.channel.name : ''));
      });
      if (select.options.length) select.selectedIndex = 0;
      else {
        var none = D.el('option', '', t('none'));
        none.value = '';
        select.appendChild(none);
      }
      if (then) then();
    }).catch(function (err) { D.toast(err.message); });
  }
  /** The new customer's fields, filled from what was searched for. */
  function newCustomer() {
    var show = !making();
    D.show(D.$('new-contact'), show);
    if (!show) return;
    var q = D.control(form(), 'q').value.trim();
    if (q.indexOf('@') > 0) nc('nc_email').value = nc('nc_email').value || q;
    else if (/^[\d\s()+-]{5,}$/.test(q)) nc('nc_phone').value = nc('nc_phone').value || q;
    else nc('nc_name').value = nc('nc_name').value || q;
    nc('nc_name').focus();
  }
  function open() {
    fillStages();
    D.show(form(), true);
    D.control(form(), 'q').focus();
  }
  /** @param {SubmitEvent} ev */
  function create(ev) {
    ev.preventDefault();
    /* A search typed just before still waiting for its turn would come after the one this
     * answer may start, and drop that one's result (its toast and the customer it picks). */
    clearTimeout(S.timer);
    var f = form();
    /** @type {Record<string, unknown>} */
    var body = {};
    if (making()) {
      var name = nc('nc_name').value.trim(), phone = nc('nc_phone').value.trim(), email = nc('nc_email').value.trim();
      if (!name || (!phone && !email)) { D.toast(t('new_details')); return; }
      /** @type {Record<string, string>} */
      var person = { name: name };
      if (phone) person.phone = phone;
      if (email) person.email = email;
      body.new_contact = person;
    } else {
      var contactId = Number(D.control(f, 'contact_id').value);
      if (!contactId) { D.toast(t('pick')); return; }
      body.contact_id = contactId;
    }
    var p = shownPipeline();
    if (p) body.pipeline_id = p.id;
    var stage = Number(D.control(f, 'stage_id').value);
    if (stage) body.stage_id = stage;
    var title = D.control(f, 'title').value.trim();
    if (title) body.title = title;
    var amount = D.control(f, 'amount').value.replace(/\s/g, '').replace(',', '.');
    if (amount) body.amount = amount;
    D.request('POST', '/api/v1/deals', body, S.csrf).then(function (deal) {
      window.location.href = '/inbox/deals/' + deal.id;
    }).catch(/** @param {HubError} err */ function (err) {
      if (err.code !== 'contact_exists') { D.toast(err.message); return; }
      /* Known already: look him up by what was typed, and pick him if he may be seen. */
      var key = nc('nc_phone').value.trim() || nc('nc_email').value.trim();
      D.control(f, 'q').value = key;
      search(key, function () {
        var select = D.find('#new-deal-form [name=contact_id]', HTMLSelectElement);
        var found = select.options.length > 0 && select.options[0].value !== '';
        if (found) D.show(D.$('new-contact'), false);
        D.toast(found ? t('exists') : err.message);
      });
    });
  }
  function boot() {
    if (!document.getElementById('new-deal-form')) return;
    translate();
    D.$('new-deal-btn').addEventListener('click', open);
    D.$('new-deal-cancel').addEventListener('click', function () { D.show(form(), false); });
    D.$('new-contact-btn').addEventListener('click', newCustomer);
    form().addEventListener('submit', create);
    D.control(form(), 'q').addEventListener('input', function () {
      clearTimeout(S.timer);
      S.timer = setTimeout(function () { search(D.control(form(), 'q').value.trim()); }, 250);
    });
    D.$('f-pipeline').addEventListener('change', fillStages);
    D.all('[data-lang-switch]').forEach(function (b) { b.addEventListener('click', translate); });
    D.request('GET', '/api/v1/auth/session').then(function (s) {
      S.csrf = s.csrf_token;
      return D.request('GET', '/api/v1/pipelines');
    }).then(function (d) {
      S.pipelines = d.items;
      fillStages();
      D.show(D.$('new-deal-btn'), true);
    }).catch(function () { /* not logged in: deals.js sends the page to the log-in */ });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
