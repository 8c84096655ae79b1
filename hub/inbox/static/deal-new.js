// @ts-check
/* "+ Deal" on the pipeline board (/inbox/deals): a deal made by hand for a customer the hub
 * knows. The customer is found as in the inbox's search (name, phone, email, what he wrote:
 * GET /api/v1/conversations?q=), the deal goes into the board's pipeline at the stage chosen
 * (the first by default) with the operator as its owner (POST /api/v1/deals), and its page opens.
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
      pick: 'Find the customer first', none: 'Nobody found', untitled: 'Customer #{id}'
    },
    ru: {
      new_deal: '+ Сделка', customer: 'Клиент', search: 'Имя, телефон или почта…', title: 'Название',
      amount: 'Сумма', stage: 'Этап', create: 'Создать сделку', cancel: 'Отмена',
      pick: 'Сначала найдите клиента', none: 'Никого не нашли', untitled: 'Клиент #{id}'
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
  function search() {
    var q = D.control(form(), 'q').value.trim();
    var select = D.find('#new-deal-form [name=contact_id]', HTMLSelectElement);
    var seq = ++S.seq;
    if (q.length < 2) { D.clear(select); return; }
    D.request('GET', '/api/v1/conversations?limit=25&q=' + encodeURIComponent(q)).then(function (d) {
      if (seq !== S.seq) return;
      D.clear(select);
      /** @type {Record<string, boolean>} */
      var seen = {};
      d.items.forEach(/** @param {ApiJson} c */ function (c) {
        if (seen[c.contact_id]) return;
        seen[c.contact_id] = true;
        var name = c.contact && c.contact.name ? c.contact.name : t('untitled', { id: c.contact_id });
        var opt = D.el('option', '', name + (c.channel ? ' · ' + c.channel.name : ''));
        opt.value = String(c.contact_id);
        select.appendChild(opt);
      });
      if (select.options.length) select.selectedIndex = 0;
      else select.appendChild(D.el('option', '', t('none')));
    }).catch(function (err) { D.toast(err.message); });
  }
  function open() {
    fillStages();
    D.show(form(), true);
    D.control(form(), 'q').focus();
  }
  /** @param {SubmitEvent} ev */
  function create(ev) {
    ev.preventDefault();
    var f = form();
    var contactId = Number(D.control(f, 'contact_id').value);
    if (!contactId) { D.toast(t('pick')); return; }
    var p = shownPipeline();
    /** @type {Record<string, unknown>} */
    var body = { contact_id: contactId };
    if (p) body.pipeline_id = p.id;
    var stage = Number(D.control(f, 'stage_id').value);
    if (stage) body.stage_id = stage;
    var title = D.control(f, 'title').value.trim();
    if (title) body.title = title;
    var amount = D.control(f, 'amount').value.replace(/\s/g, '').replace(',', '.');
    if (amount) body.amount = amount;
    D.request('POST', '/api/v1/deals', body, S.csrf).then(function (deal) {
      window.location.href = '/inbox/deals/' + deal.id;
    }).catch(function (err) { D.toast(err.message); });
  }
  function boot() {
    if (!document.getElementById('new-deal-form')) return;
    translate();
    D.$('new-deal-btn').addEventListener('click', open);
    D.$('new-deal-cancel').addEventListener('click', function () { D.show(form(), false); });
    form().addEventListener('submit', create);
    D.control(form(), 'q').addEventListener('input', function () {
      clearTimeout(S.timer);
      S.timer = setTimeout(search, 250);
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
