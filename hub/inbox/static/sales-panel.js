// @ts-check
/* The contact panel's sales part: the contact's deals (stage, amount, the conversation that
 * made each) and his lead waiting in "incoming", with "Qualify" (a deal in one click) and
 * "Reject" (spam, not a customer, or a reason typed in). A feature script on HubInbox. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      deals: 'Deals', board: 'Deals board', lead_incoming: 'New lead', qualify: 'Qualify',
      reject: 'Reject', reason_spam: 'Spam', reason_not_customer: 'Not a customer',
      reason_other: 'Other reason', reject_do: 'Reject the lead', no_deals: 'No deals yet',
      lead_rejected: 'Lead rejected', deal_created: 'Deal created', reason_text: 'Reason'
    },
    ru: {
      deals: 'Сделки', board: 'Воронка сделок', lead_incoming: 'Новая заявка',
      qualify: 'В сделку', reject: 'Отклонить', reason_spam: 'Спам',
      reason_not_customer: 'Не клиент', reason_other: 'Другая причина',
      reject_do: 'Отклонить заявку', no_deals: 'Сделок пока нет', lead_rejected: 'Заявка отклонена',
      deal_created: 'Сделка создана', reason_text: 'Причина'
    }
  });

  function lang() { return H.state().lang; }
  /** @param {string} name a stored stage name: the defaults' in Russian to Russian readers */
  function stageName(name) { return window.HubDom.defaultName(name, lang()); }
  /** @param {string} amount @param {string} currency */
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(lang(), { style: 'currency', currency: currency }).format(Number(amount));
    } catch (e) { return amount + ' ' + currency; }
  }
  /** @param {ApiJson} c @returns {ApiJson} the contact's lead waiting in "incoming", or null */
  function incomingLead(c) {
    var leads = ((c && c.leads) || []).filter(/** @param {ApiJson} l */ function (l) { return l.status === 'incoming'; });
    return leads.length ? leads[0] : null;
  }
  function render() {
    var c = H.state().contact;
    if (!c) return;
    var lead = incomingLead(c);
    H.show(H.$('c-lead'), !!lead);
    H.show(H.$('lead-reject-form'), false);
    if (lead) {
      var src = lead.source || {};
      // "New lead · Website chat · yandex", not the channel type's code name.
      H.$('c-lead-source').textContent = [src.channel ? H.channelTypeName(src.channel) : '', src.utm_source, src.utm_campaign]
        .filter(function (x) { return !!x; }).join(' · ');
    }
    var list = H.$('c-deals');
    H.clear(list);
    (c.deals || []).forEach(/** @param {ApiJson} d */ function (d) {
      var li = H.el('li', 'deal-item');
      var a = H.el('a', 'link', d.title);
      a.href = '/inbox/deals/' + d.id;
      li.appendChild(a);
      li.appendChild(H.el('span', 'stage-pill stage-' + (d.stage ? d.stage.kind : 'open'),
        d.stage ? stageName(d.stage.name) : ''));
      li.appendChild(H.el('span', 'muted small', money(d.amount, d.currency)));
      if (d.conversation && d.conversation.channel) {
        li.appendChild(H.el('span', 'muted small', '· ' + d.conversation.channel.name));
      }
      list.appendChild(li);
    });
    H.show(H.$('c-no-deals'), !(c.deals || []).length);
  }
  function qualify() {
    var lead = incomingLead(H.state().contact);
    if (!lead) return;
    var button = H.$('lead-qualify', HTMLButtonElement);
    button.disabled = true;
    H.api('POST', '/api/v1/leads/' + lead.id + '/qualify').then(function () {
      H.toast(H.t('deal_created'));
      H.reloadContact();
    }).catch(H.fail).then(function () { button.disabled = false; });
  }
  /** @param {SubmitEvent} ev */
  function reject(ev) {
    ev.preventDefault();
    var lead = incomingLead(H.state().contact);
    if (!lead) return;
    var form = H.$('lead-reject-form', HTMLFormElement);
    var reason = form.reason.value === 'other' ? form.other.value.trim() : form.reason.value;
    if (!reason) { form.other.focus(); return; }
    H.api('POST', '/api/v1/leads/' + lead.id + '/reject', { reason: reason }).then(function () {
      H.toast(H.t('lead_rejected'));
      form.reset();
      H.reloadContact();
    }).catch(H.fail);
  }
  /* A lead or deal of the contact in the panel changed (here or by a colleague). */
  /** @param {CustomEvent<HubEventDetail>} ev */
  function onEvent(ev) {
    var name = ev.detail.name;
    if (!/^(lead|deal)\./.test(name)) return;
    var item = ev.detail.data.lead || ev.detail.data.deal || {};
    var c = H.state().contact;
    if (c && item.contact_id === c.id) H.reloadContact();
  }
  function bind() {
    H.$('lead-qualify').addEventListener('click', qualify);
    H.$('lead-reject').addEventListener('click', function () {
      var form = H.$('lead-reject-form');
      H.show(form, form.hidden);
    });
    H.$('lead-reject-form').addEventListener('submit', reject);
    document.addEventListener('hub:contact-rendered', render);
    document.addEventListener('hub:event', onEvent);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
