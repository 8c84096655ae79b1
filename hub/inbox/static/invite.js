// @ts-check
/* The page of a one-time link (/inbox/invite/<token>): an invitation or a password link an
 * admin sent. It asks what the link is for (GET /api/v1/auth/links/{token}), lets the person
 * set his password twice, sends it (POST, which sets the session cookie) and opens the inbox.
 * A used, expired or unknown link says so and what to do. In the installation's language
 * (HUB_LANGUAGE: the page's <html lang>, which the hub sets). */
(function () {
  'use strict';
  var D = window.HubDom;

  /** @type {Texts} */
  var TEXTS = {
    en: {
      invite_title: 'Welcome, {name}!', reset_title: 'A new password, {name}',
      invite_who: 'You were invited to the inbox. Your login is {email}: set your password to log in.',
      reset_who: 'Set a new password for {email}. Your sessions elsewhere will end.',
      password: 'Password', password_again: 'The password again', save: 'Set the password and log in',
      password_rule: 'At least 10 characters.', mismatch: 'The two passwords differ',
      too_short: 'The password needs at least 10 characters',
      dead_title: 'This link does not work', to_login: 'Go to the log-in page', lang_other: 'Русский',
      link_not_found: 'This link is not valid. Ask your admin for a new one.',
      link_used: 'This link was used already. Log in with your password, or ask your admin for a new link.',
      link_expired: 'This link has expired (links work 7 days). Ask your admin for a new one.',
      link_revoked: 'This link no longer works: a newer one was sent, or the account was deactivated.'
    },
    ru: {
      invite_title: 'Добро пожаловать, {name}!', reset_title: 'Новый пароль: {name}',
      invite_who: 'Вас пригласили в рабочий чат. Ваш логин — {email}: задайте пароль, чтобы войти.',
      reset_who: 'Задайте новый пароль для {email}. Другие ваши сеансы завершатся.',
      password: 'Пароль', password_again: 'Пароль ещё раз', save: 'Задать пароль и войти',
      password_rule: 'Не короче 10 символов.', mismatch: 'Пароли не совпадают',
      too_short: 'Пароль должен быть не короче 10 символов',
      dead_title: 'Ссылка не работает', to_login: 'Перейти ко входу', lang_other: 'English',
      link_not_found: 'Ссылка недействительна. Попросите администратора прислать новую.',
      link_used: 'По этой ссылке уже задали пароль. Войдите с ним или попросите у администратора новую ссылку.',
      link_expired: 'Срок ссылки истёк (она действует 7 дней). Попросите администратора прислать новую.',
      link_revoked: 'Ссылка больше не действует: прислали более новую, или учётная запись отключена.'
    }
  };
  /** @type {Lang} */
  var lang = document.documentElement.lang === 'ru' ? 'ru' : 'en';
  var token = decodeURIComponent(window.location.pathname.split('/').pop() || '');
  /** @type {ApiJson | null} the link, once the hub said what it is */
  var shown = null;

  /** @param {string} key @param {Record<string, string | number>} [vars] */
  function t(key, vars) { return D.format(TEXTS[lang][key] || TEXTS.en[key] || key, vars); }
  function translate() {
    D.translate(t);
    if (!shown) return;
    D.$('invite-title').textContent = t(shown.purpose + '_title', { name: shown.name });
    D.$('invite-who').textContent = t(shown.purpose + '_who', { email: shown.email });
  }
  /** @param {HubError} err */
  function dead(err) {
    translate();
    D.$('invite-dead-why').textContent = TEXTS[lang][err.code || ''] ? t(err.code || '') : err.message;
    D.show(D.$('invite-form'), false);
    D.show(D.$('invite-dead'), true);
  }
  /** @param {string} text */
  function problem(text) {
    var box = D.$('invite-error');
    box.textContent = text;
    D.show(box, true);
  }
  /** @param {ApiJson} link */
  function ready(link) {
    shown = link;
    translate();
    var form = D.$('invite-form', HTMLFormElement);
    D.show(form, true);
    D.control(form, 'password').focus();
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var password = D.control(form, 'password').value;
      D.show(D.$('invite-error'), false);
      if (password.length < 10) { problem(t('too_short')); return; }
      if (password !== D.control(form, 'again').value) { problem(t('mismatch')); return; }
      D.request('POST', '/api/v1/auth/links/' + encodeURIComponent(token), { password: password }).then(function () {
        window.location.replace('/inbox');
      }).catch(/** @param {HubError} err */ function (err) {
        if (err.status === 404 || err.status === 410) dead(err);
        else problem(err.message);
      });
    });
  }
  function boot() {
    translate();
    D.all('[data-lang-switch]').forEach(function (b) {
      b.addEventListener('click', function () {
        lang = lang === 'ru' ? 'en' : 'ru';
        translate();
      });
    });
    D.request('GET', '/api/v1/auth/links/' + encodeURIComponent(token)).then(ready).catch(dead);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
