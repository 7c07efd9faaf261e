/* Manage API Tokens: talks to the JSON API next to this page.  Every
 * value from the server is put into the page as text, never as HTML.
 * Edits send only the fields the user changed, so what the page cannot
 * show (a scope outside the catalogue, an exact expiry) is never lost. */
(function () {
  'use strict';

  var API = 'api/';
  var DAY = 86400;
  var owner = new URLSearchParams(location.search).get('owner');
  var info = { features: [], catalogue: false, usage_tracking: true,
               default_expiry: null, max_expiry: null };
  var tokens = [];

  function $(id) { return document.getElementById(id); }

  function q(path) {
    return API + path + (owner ? (path.indexOf('?') < 0 ? '?' : '&') +
      'owner=' + encodeURIComponent(owner) : '');
  }

  function call(method, path, body) {
    var opts = {
      method: method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'X-Requested-With': 'apitoken', 'Accept': 'application/json' }
    };
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body || {});
    }
    return fetch(q(path), opts).then(function (resp) {
      return resp.text().then(function (text) {
        var doc = null;
        try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
        if (!resp.ok) {
          var err = new Error(doc && doc.message ? doc.message : 'HTTP ' + resp.status);
          err.status = resp.status;
          err.code = doc && doc.error ? doc.error : 'http_' + resp.status;
          err.retry = resp.headers.get('Retry-After');
          throw err;
        }
        return doc;
      });
    }, function () {
      var err = new Error('network');
      err.code = 'network';
      throw err;
    });
  }

  function say(text) {
    $('errors').textContent = '';
    $('messages').textContent = text;
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function day(iso) {
    return iso ? iso.replace('T', ' ').replace(/:\d\dZ$/, ' UTC') : '';
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function isoDate(d) {
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
  }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

  var STATUS_TEXT = {
    active: 'Active', expiring_soon: 'Expiring soon',
    expired: 'Expired', revoked: 'Revoked'
  };

  /* ------------------------------------------------------------------
   * Errors in words a user understands, next to the field they are
   * about.  The API's codes and messages stay what they are. */

  var WORDING = {
    name_exists: 'You already have a token with this name. Choose another name.',
    rate_limited: 'You have created many tokens in the last minute.',
    database_unavailable: 'The token service is not available right now. Try again in a moment.',
    not_found: 'This token no longer exists. It may have been deleted elsewhere; the list has been reloaded.',
    csrf: 'The request was refused for safety. Reload the page and try again.',
    network: 'The server could not be reached. Check your connection and try again.',
    unknown_feature: 'This service does not offer one of the chosen permissions.'
  };

  function reason(msg) {
    /* The core's messages start with the operation ("create: ..."). */
    return String(msg || '').replace(/^[a-z]+: /, '');
  }

  /* Which field an API error is about. */
  function fieldOf(err) {
    var m = String(err.message || '');
    if (err.code === 'name_exists' || /invalid name/.test(m)) { return 'name'; }
    if (/description/.test(m)) { return 'description'; }
    if (err.code === 'expiry_too_far' || /expir/.test(m)) { return 'expiry'; }
    if (/network/.test(m)) { return 'nets'; }
    if (/resource/.test(m)) { return 'res'; }
    if (err.code === 'unknown_feature' || /scope|feature|full access/.test(m)) { return 'features'; }
    return null;
  }

  function words(err) {
    /* "invalid allowed networks '10.1.2.3/8': '10.1.2.3/8' has host bits
     * set ..." says the value twice: keep the why. */
    var m = reason(err.message).replace(/^invalid [a-z ]+? '(?:[^'\\]|\\.)*': /, '');
    if (err.code === 'rate_limited') {
      return WORDING.rate_limited + (err.retry ? ' Try again in ' + plural(+err.retry, 'second') + '.' : ' Try again in a minute.');
    }
    if (err.code === 'expiry_too_far') {
      var d = info.max_expiry ? Math.ceil(info.max_expiry / DAY) : null;
      return 'Tokens here must expire within ' + (d ? plural(d, 'day') : 'the allowed time') + '. Choose an earlier date.';
    }
    if (err.code === 'insufficient_scope') {
      return 'The token you signed in with cannot give more than it holds (' + m + ').';
    }
    if (WORDING[err.code]) { return WORDING[err.code]; }
    var f = fieldOf(err);
    if (f === 'name') { return 'This name cannot be used: ' + m + '.'; }
    if (f === 'description') { return 'This description cannot be used: ' + m + '.'; }
    if (f === 'nets') { return 'Check the allowed networks: ' + m + '.'; }
    if (f === 'res') { return 'Check the resources: ' + m + '.'; }
    if (f === 'expiry') { return 'Check the expiry: ' + m + '.'; }
    if (f === 'features') { return 'Check the permissions: ' + m + '.'; }
    return 'That did not work: ' + m + '.';
  }

  /* A form with its error box and fields: { box, fields: {name: input} }. */
  function clearErrors(form) {
    form.box.hidden = true;
    form.box.textContent = '';
    Object.keys(form.fields).forEach(function (k) {
      var f = form.fields[k];
      f.input.removeAttribute('aria-invalid');
      f.input.querySelectorAll('[aria-invalid]').forEach(function (c) { c.removeAttribute('aria-invalid'); });
      f.msg.hidden = true;
      f.msg.textContent = '';
    });
  }

  function showError(form, field, text) {
    var f = field && form.fields[field];
    form.box.textContent = text;
    form.box.hidden = false;
    if (f) {
      var controls = f.input.tagName === 'FIELDSET'
        ? Array.prototype.slice.call(f.input.querySelectorAll('input, select')) : [];
      f.input.setAttribute('aria-invalid', 'true');
      controls.forEach(function (c) { c.setAttribute('aria-invalid', 'true'); });
      f.msg.textContent = text;
      f.msg.hidden = false;
      form.box.textContent = 'Please correct the marked field.';
      var first = controls.filter(function (c) { return !c.disabled && c.offsetParent; })[0];
      (first || f.input).focus();
    }
  }

  function apiError(form, err) {
    showError(form, fieldOf(err), words(err));
    if (err.code === 'not_found') { load(); }
  }

  function formOf(boxId, map) {
    var fields = {};
    Object.keys(map).forEach(function (k) {
      fields[k] = { input: $(map[k][0]), msg: $(map[k][1]) };
    });
    return { box: $(boxId), fields: fields };
  }

  var createForm = formOf('create-error', {
    name: ['name', 'name-error'], description: ['description', 'description-error'],
    features: ['features-box', 'features-error'], expiry: ['expiry-box', 'expiry-error'],
    nets: ['nets', 'nets-error'], res: ['res', 'res-error']
  });
  var renameForm = formOf('rename-error', {
    name: ['rename-name', 'rename-name-error'],
    description: ['rename-description', 'rename-description-error']
  });
  var permForm = formOf('perm-error', {
    features: ['perm-features-box', 'perm-features-error'],
    expiry: ['perm-expiry-box', 'perm-expiry-error'],
    nets: ['perm-nets', 'perm-nets-error'],
    res: ['perm-res', 'perm-res-error']
  });
  var confirmForm = formOf('confirm-error', {});

  /* The page's own errors (loading), where no dialog is open. */
  function complain(err) {
    $('messages').textContent = '';
    $('errors').textContent = err && err.code ? words(err) : String(err && err.message || err);
  }

  /* ------------------------------------------------------------------
   * Dialogs: remember what had focus and give it back on close. */

  var returnFocus = null;
  function openDialog(d, focusEl) {
    returnFocus = document.activeElement;
    d.showModal();
    if (focusEl) { focusEl.focus(); }
  }
  function closeDialog(d) {
    if (d.open) { d.close(); }
  }
  ['confirm-dialog', 'rename-dialog', 'perm-dialog'].forEach(function (id) {
    $(id).addEventListener('close', giveFocusBack);
  });
  function giveFocusBack() {
    if (returnFocus && document.contains(returnFocus)) { returnFocus.focus(); }
    else { $('tokens-heading').focus(); }
  }

  /* ------------------------------------------------------------------
   * Permissions: a checkbox per feature, or a choice of none / each
   * configured level / all when the feature has levels.  Scopes that fit
   * neither are listed on their own and kept. */

  function levelLabel(l) { return l.charAt(0).toUpperCase() + l.slice(1).replace(/[_-]/g, ' '); }

  /* Split scopes into what the catalogue controls can show and the rest. */
  function placeScopes(scopes) {
    var shown = {}, other = [];
    var byFeature = {};
    scopes.forEach(function (s) {
      var f = s.split(':')[0];
      (byFeature[f] = byFeature[f] || []).push(s);
    });
    Object.keys(byFeature).forEach(function (f) {
      var feat = info.features.filter(function (x) { return x.name === f; })[0];
      var list = byFeature[f];
      var ok = feat && list.length === 1 &&
        (list[0] === f || (feat.levels.length && feat.levels.indexOf(list[0].slice(f.length + 1)) >= 0));
      if (ok) { shown[f] = list[0]; } else { other = other.concat(list); }
    });
    return { shown: shown, other: other };
  }

  function featureControls(container, prefix, shown) {
    container.textContent = '';
    info.features.forEach(function (f) {
      var id = prefix + f.name;
      var wrap = el('div', { 'class': 'choice feature' });
      if (!f.levels.length) {
        var box = el('input', { type: 'checkbox', id: id, value: f.name,
                                'aria-describedby': id + '-desc' });
        box.checked = shown[f.name] === f.name;
        wrap.appendChild(box);
        wrap.appendChild(el('label', { 'for': id }, f.name));
      } else {
        wrap.appendChild(el('label', { 'for': id }, f.name));
        var sel = el('select', { id: id, 'aria-describedby': id + '-desc', 'data-feature': f.name });
        sel.appendChild(el('option', { value: '' }, 'No access'));
        f.levels.forEach(function (l) {
          sel.appendChild(el('option', { value: f.name + ':' + l }, levelLabel(l)));
        });
        sel.appendChild(el('option', { value: f.name }, 'All'));
        sel.value = shown[f.name] || '';
        wrap.appendChild(sel);
      }
      wrap.appendChild(el('span', { id: id + '-desc', 'class': 'feature-desc' }, f.description));
      container.appendChild(wrap);
    });
  }

  function otherControls(list, box, other) {
    list.textContent = '';
    box.hidden = !other.length;
    other.forEach(function (s, i) {
      var id = 'perm-o-' + i;
      var wrap = el('div', { 'class': 'choice' });
      var cb = el('input', { type: 'checkbox', id: id, value: s });
      cb.checked = true;
      wrap.appendChild(cb);
      wrap.appendChild(el('label', { 'for': id, 'class': 'scope' }, s));
      list.appendChild(wrap);
    });
  }

  function chosenScopes(container, freeInput, otherList) {
    if (!info.catalogue) {
      return freeInput.value.split(/[\s,]+/).filter(function (s) { return s; });
    }
    var out = [];
    container.querySelectorAll('input[type=checkbox]').forEach(function (b) {
      if (b.checked) { out.push(b.value); }
    });
    container.querySelectorAll('select').forEach(function (s) {
      if (s.value) { out.push(s.value); }
    });
    if (otherList) {
      otherList.querySelectorAll('input[type=checkbox]').forEach(function (b) {
        if (b.checked) { out.push(b.value); }
      });
    }
    return out;
  }

  function syncAccess(fullRadio, box) {
    var full = fullRadio.checked;
    box.querySelectorAll('input, select').forEach(function (i) { i.disabled = full; });
  }

  function sameSet(a, b) {
    var x = a.slice().sort(), y = b.slice().sort();
    return x.length === y.length && x.every(function (v, i) { return v === y[i]; });
  }

  function splitWords(s) {
    return s.trim() ? s.trim().split(/[\s,]+/) : [];
  }

  /* ------------------------------------------------------------------
   * Expiry: presets within the administrator's maximum, a date, never.
   * A date means the whole of that day (until 23:59:59 UTC), as in the
   * tool. */

  var PRESETS = [7, 30, 60, 90];
  /* Without an administrator's default the page still suggests a date. */
  var PAGE_DEFAULT = 30;

  function maxDays() { return info.max_expiry ? Math.floor(info.max_expiry / DAY) : null; }

  function expiryChoices(prefix, keepText) {
    var box = $(prefix === 'perm' ? 'perm-expiry-choices' : 'expiry-choices');
    var name = prefix + '-expiry';
    var max = maxDays();
    var def = info.default_expiry ? Math.max(1, Math.round(info.default_expiry / DAY))
      : (!max || PAGE_DEFAULT <= max ? PAGE_DEFAULT : max);
    var choices = [];
    box.textContent = '';
    if (keepText) { choices.push(['keep', 'Keep: ' + keepText]); }
    var days = PRESETS.filter(function (d) { return !max || d <= max; });
    if (def && days.indexOf(def) < 0) { days.push(def); days.sort(function (a, b) { return a - b; }); }
    days.forEach(function (d) { choices.push([String(d), plural(d, 'day')]); });
    choices.push(['on', 'On a date']);
    if (!max) { choices.push(['never', 'Never']); }
    choices.forEach(function (c) {
      var id = prefix + '-' + c[0];
      var wrap = el('span', { 'class': 'pill' });
      var r = el('input', { type: 'radio', name: name, id: id, value: c[0] });
      wrap.appendChild(r);
      wrap.appendChild(el('label', { 'for': id }, c[1]));
      box.appendChild(wrap);
      r.addEventListener('change', function () { expirySync(prefix); });
    });
    var date = $(prefix === 'perm' ? 'perm-date' : 'expiry-date');
    var now = new Date();
    date.min = isoDate(now);
    if (max) { date.max = isoDate(new Date(now.getTime() + max * DAY * 1000)); } else { date.removeAttribute('max'); }
    var start = keepText ? 'keep' : String(def);
    $(prefix + '-' + start).checked = true;
    expirySync(prefix);
  }

  function expiryValue(prefix) {
    var r = document.querySelector('input[name=' + prefix + '-expiry]:checked');
    return r ? r.value : 'keep';
  }

  function expirySync(prefix) {
    var v = expiryValue(prefix);
    var perm = prefix === 'perm';
    $(perm ? 'perm-date-row' : 'expiry-date-row').hidden = v !== 'on';
    $(perm ? 'perm-expiry-warning' : 'expiry-warning').hidden = v !== 'never';
    var help = $(perm ? 'perm-expiry-help' : 'expiry-help');
    var max = maxDays();
    var text = '';
    if (/^\d+$/.test(v)) {
      var at = new Date(Date.now() + (+v) * DAY * 1000);
      text = 'Expires ' + isoDate(at) + ' ' + pad(at.getUTCHours()) + ':' + pad(at.getUTCMinutes()) + ' UTC.';
    } else if (v === 'on') {
      text = 'The token works until the end of that day (23:59 UTC).';
    } else if (v === 'keep') {
      text = 'The expiry stays exactly as it is.';
    }
    if (max) { text += (text ? ' ' : '') + 'Tokens here expire within ' + plural(max, 'day') + ' at most.'; }
    help.textContent = text;
  }

  /* The "expires" value to send, or undefined for none (keep), or an
   * Error for the user. */
  function expiryField(prefix) {
    var v = expiryValue(prefix);
    if (v === 'keep') { return undefined; }
    if (v === 'never') { return null; }
    if (v === 'on') {
      var d = $(prefix === 'perm' ? 'perm-date' : 'expiry-date').value;
      if (!d) { return new Error('Choose the last day the token works.'); }
      if (d < isoDate(new Date())) { return new Error('Choose a day from today on.'); }
      return d;
    }
    return '+' + v + 'd';
  }

  /* ------------------------------------------------------------------
   * The list. */

  function render() {
    var body = $('token-rows');
    body.textContent = '';
    $('empty').hidden = tokens.length > 0;
    $('tokens').hidden = tokens.length === 0;
    tokens.forEach(function (t) {
      var tr = el('tr', { 'data-id': t.id });
      var name = el('td', { 'data-label': 'Name' });
      name.appendChild(el('strong', {}, t.name));
      if (t.description) { name.appendChild(el('div', { 'class': 'muted' }, t.description)); }
      name.appendChild(el('div', { 'class': 'muted small' }, 'id ' + t.id + ' \u00b7 created ' + day(t.created_at).slice(0, 10)));
      tr.appendChild(name);
      var st = el('td', { 'data-label': 'Status' });
      st.appendChild(el('span', { 'class': 'badge badge-' + t.status, 'data-status': t.status },
                        STATUS_TEXT[t.status] || t.status));
      tr.appendChild(st);
      var perms = el('td', { 'data-label': 'Permissions' });
      if (t.full_access) { perms.appendChild(el('span', { 'class': 'scope' }, 'Full access')); }
      t.scopes.forEach(function (s) { perms.appendChild(el('span', { 'class': 'scope' }, s)); });
      if (t.allowed_networks.length) {
        perms.appendChild(el('div', { 'class': 'muted' }, 'from ' + t.allowed_networks.join(', ')));
      }
      if (t.resources.length) {
        perms.appendChild(el('div', { 'class': 'muted resources' }, 'on ' + t.resources.join(', ')));
      }
      tr.appendChild(perms);
      tr.appendChild(el('td', { 'data-label': 'Expires' }, t.expires_at ? day(t.expires_at) : 'Never'));
      var used = t.last_used_at ? day(t.last_used_at) + (t.last_used_addr ? ' from ' + t.last_used_addr : '')
        : (info.usage_tracking ? 'Never' : 'Not tracked');
      tr.appendChild(el('td', { 'data-label': 'Last used', 'class': 'last-used' }, used));
      var act = el('td', { 'data-label': 'Actions', 'class': 'actions-cell' });
      var box = el('div', { 'class': 'actions' });
      function button(action, text, cls) {
        var b = el('button', { type: 'button', 'data-action': action,
                               'aria-label': text + ' ' + t.name }, text);
        if (cls) { b.className = cls; }
        b.addEventListener('click', function () { actions[action](t, b); });
        box.appendChild(b);
      }
      button('rename', 'Rename');
      if (t.status !== 'revoked') {
        button('permissions', 'Permissions');
        button('rotate', 'Rotate');
        button('revoke', 'Revoke', 'danger-text');
      }
      button('delete', 'Delete', 'danger-text');
      act.appendChild(box);
      tr.appendChild(act);
      body.appendChild(tr);
    });
  }

  function load() {
    return call('GET', 'tokens').then(function (doc) {
      tokens = doc.tokens;
      render();
      if (!tokens.length) { showCreate(false); }
      if (!$('audit-box').hidden) { loadAudit(); }
    }).catch(complain);
  }

  /* ------------------------------------------------------------------
   * Activity: the account's audit trail, newest first. */

  var AUDIT_PAGE = 20;
  var auditShown = AUDIT_PAGE;
  var ACTION_TEXT = {
    create: 'Created', rename: 'Renamed', scope: 'Permissions changed',
    expire: 'Expiry changed', revoke: 'Revoked', rotate: 'Rotated',
    'delete': 'Deleted', edit: 'Changed', describe: 'Description changed',
    networks: 'Networks changed', resources: 'Resources changed'
  };

  function loadAudit() {
    return call('GET', 'audit').then(function (doc) {
      var evs = doc.events.slice().sort(function (a, b) { return b.seq - a.seq; });
      var names = {};
      tokens.forEach(function (t) { names[t.id] = t.name; });
      var body = $('audit-rows');
      body.textContent = '';
      $('audit-empty').hidden = evs.length > 0;
      $('audit').hidden = !evs.length;
      evs.slice(0, auditShown).forEach(function (e) {
        var tr = el('tr', { 'data-seq': String(e.seq) });
        tr.appendChild(el('td', { 'data-label': 'When' }, day(e.at)));
        tr.appendChild(el('td', { 'data-label': 'What' }, ACTION_TEXT[e.action] || e.action));
        tr.appendChild(el('td', { 'data-label': 'Token' },
                          names[e.token_id] ? names[e.token_id] + ' (' + e.token_id + ')' : e.token_id));
        tr.appendChild(el('td', { 'data-label': 'By' }, e.actor));
        tr.appendChild(el('td', { 'data-label': 'Details', 'class': 'detail' }, e.detail || ''));
        body.appendChild(tr);
      });
      $('audit-more').hidden = evs.length <= auditShown;
    }).catch(complain);
  }

  $('audit-btn').addEventListener('click', function () {
    var open = $('audit-box').hidden;
    $('audit-box').hidden = !open;
    $('audit-btn').setAttribute('aria-expanded', String(open));
    $('audit-btn').textContent = open ? 'Hide activity' : 'Show activity';
    if (open) { auditShown = AUDIT_PAGE; loadAudit(); }
  });
  $('audit-more').addEventListener('click', function () {
    auditShown += AUDIT_PAGE;
    loadAudit();
  });

  /* ------------------------------------------------------------------
   * Show once: the whole secret, a usage example, and no accidental
   * close (Esc included). */

  var secretCopied = false;
  var secretCanClose = false;

  function showSecret(doc, what) {
    secretCopied = false;
    secretCanClose = false;
    $('secret-title').textContent = what;
    $('secret-value').value = doc.token;
    $('secret-example').textContent = "curl -H 'Authorization: Bearer " + doc.token + "' " +
      location.protocol + '//' + location.host + '/';
    $('secret-confirm').hidden = true;
    $('secret-buttons').hidden = false;
    openDialog($('secret-dialog'), $('secret-value'));
    fitSecret();
    $('secret-value').select();
  }

  /* The field grows to show the whole secret at any width. */
  function fitSecret() {
    var v = $('secret-value');
    v.style.height = 'auto';
    v.style.height = (v.scrollHeight + 2) + 'px';
  }
  /* Refit whenever the field's width changes (the window, or a scrollbar
   * appearing in the dialog), not when only its height does. */
  var secretWidth = 0;
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      var w = $('secret-value').clientWidth;
      if (w !== secretWidth) { secretWidth = w; fitSecret(); }
    }).observe($('secret-value'));
  } else {
    window.addEventListener('resize', function () {
      if ($('secret-dialog').open) { fitSecret(); }
    });
  }

  function askSecretClose() {
    $('secret-confirm').hidden = false;
    $('secret-buttons').hidden = true;
    fitSecret();
    $('secret-back').focus();
  }

  function wipeSecret() {
    $('secret-value').value = '';
    $('secret-example').textContent = '';
    $('copy-status').textContent = '';
  }

  function closeSecret() {
    secretCanClose = true;
    /* Now, not in the close event, which comes a moment later. */
    wipeSecret();
    closeDialog($('secret-dialog'));
  }

  $('secret-dialog').addEventListener('cancel', function (ev) {
    ev.preventDefault();
    askSecretClose();
  });
  $('secret-dialog').addEventListener('close', function () {
    if (!secretCanClose) {
      /* Closed without the confirmation (the browser may force a close
       * on a repeated Esc): bring it back and ask. */
      $('secret-dialog').showModal();
      askSecretClose();
      return;
    }
    /* The secret leaves the page with the dialog. */
    wipeSecret();
    giveFocusBack();
  });
  $('secret-back').addEventListener('click', function () {
    $('secret-confirm').hidden = true;
    $('secret-buttons').hidden = false;
    $('secret-value').focus();
  });
  $('secret-close').addEventListener('click', closeSecret);
  $('secret-done').addEventListener('click', function () {
    if (secretCopied) { closeSecret(); } else { askSecretClose(); }
  });

  $('copy-btn').addEventListener('click', function () {
    var v = $('secret-value');
    function done(ok) {
      secretCopied = secretCopied || !!ok;
      $('copy-status').textContent = ok ? 'Copied to the clipboard.' : 'Select the token and copy it by hand.';
    }
    v.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(v.value).then(function () { done(true); },
        function () { done(document.execCommand && document.execCommand('copy')); });
    } else {
      done(document.execCommand && document.execCommand('copy'));
    }
  });

  /* ------------------------------------------------------------------
   * Confirmation for revoke, rotate and delete; errors stay in it. */

  var pending = null;
  function confirmThen(title, text, okText, withGrace, fn) {
    clearErrors(confirmForm);
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okText;
    $('confirm-ok').disabled = false;
    $('grace-row').hidden = !withGrace;
    pending = fn;
    openDialog($('confirm-dialog'), $('confirm-cancel'));
  }
  $('confirm-cancel').addEventListener('click', function () { pending = null; closeDialog($('confirm-dialog')); });
  $('confirm-ok').addEventListener('click', function () {
    var fn = pending;
    if (!fn) { return; }
    clearErrors(confirmForm);
    $('confirm-ok').disabled = true;
    fn().then(function () {
      pending = null;
      closeDialog($('confirm-dialog'));
    }, function (err) {
      apiError(confirmForm, err);
    }).then(function () { $('confirm-ok').disabled = false; });
  });

  var current = null;
  var actions = {
    rename: function (t) {
      current = t;
      clearErrors(renameForm);
      $('rename-name').value = t.name;
      $('rename-description').value = t.description || '';
      openDialog($('rename-dialog'), $('rename-name'));
    },
    permissions: function (t) {
      current = t;
      clearErrors(permForm);
      $(t.full_access ? 'perm-full' : 'perm-restricted').checked = true;
      var placed = info.catalogue ? placeScopes(t.scopes) : { shown: {}, other: [] };
      featureControls($('perm-features'), 'perm-f-', placed.shown);
      otherControls($('perm-other-list'), $('perm-other'), placed.other);
      $('perm-text').value = t.scopes.join(' ');
      expiryChoices('perm', t.expires_at ? day(t.expires_at) : 'never expires');
      $('perm-date').value = t.expires_at ? t.expires_at.slice(0, 10) : '';
      $('perm-nets').value = t.allowed_networks.join(' ');
      $('perm-res').value = t.resources.join(' ');
      syncAccess($('perm-full'), $('perm-features-box'));
      openDialog($('perm-dialog'), $(t.full_access ? 'perm-full' : 'perm-restricted'));
    },
    rotate: function (t) {
      confirmThen('Rotate ' + t.name + '?', 'A new secret replaces the current one. Scripts using the old one must be updated.',
        'Rotate', true, function () {
          var g = $('grace').value;
          return call('POST', 'tokens/' + t.id + '/rotate', g === '0' ? {} : { grace: g }).then(function (doc) {
            say('Token ' + t.name + ' rotated.');
            load();
            /* After the confirmation has closed, so focus returns right. */
            setTimeout(function () { showSecret(doc, 'New secret for ' + t.name); }, 0);
          });
        });
    },
    revoke: function (t) {
      confirmThen('Revoke ' + t.name + '?', 'The token stops working at once. This cannot be undone.',
        'Revoke', false, function () {
          return call('POST', 'tokens/' + t.id + '/revoke', {}).then(function () {
            say('Token ' + t.name + ' revoked.');
            return load();
          });
        });
    },
    'delete': function (t) {
      confirmThen('Delete ' + t.name + '?', 'The token disappears from the list and stops working. Its audit events are kept.',
        'Delete', false, function () {
          return call('DELETE', 'tokens/' + t.id, {}).then(function () {
            say('Token ' + t.name + ' deleted.');
            return load();
          });
        });
    }
  };

  /* Send body when it names anything, then close the dialog. */
  function patch(dialog, form, t, body, done) {
    if (!Object.keys(body).length) {
      closeDialog(dialog);
      say('Nothing changed for ' + t.name + '.');
      return;
    }
    call('PATCH', 'tokens/' + t.id, body).then(function (doc) {
      closeDialog(dialog);
      say(done(doc));
      return load();
    }).catch(function (err) { apiError(form, err); });
  }

  $('rename-cancel').addEventListener('click', function () { closeDialog($('rename-dialog')); });
  $('rename-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = current, body = {};
    var name = $('rename-name').value;
    var desc = $('rename-description').value;
    clearErrors(renameForm);
    if (!name.trim()) { showError(renameForm, 'name', 'Give the token a name.'); return; }
    /* Compared as shown, so a value the page would tidy is left alone
     * unless the user edits it. */
    if (name !== t.name) { body.name = name.trim(); }
    if (desc !== (t.description || '')) { body.description = desc.trim() || null; }
    patch($('rename-dialog'), renameForm, t, body, function (doc) {
      return 'Token ' + doc.name + ' saved.';
    });
  });

  $('perm-cancel').addEventListener('click', function () { closeDialog($('perm-dialog')); });
  $('perm-full').addEventListener('change', function () { syncAccess($('perm-full'), $('perm-features-box')); });
  $('perm-restricted').addEventListener('change', function () { syncAccess($('perm-full'), $('perm-features-box')); });
  $('perm-date').addEventListener('input', function () { $('perm-on').checked = true; expirySync('perm'); });
  $('perm-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = current, body = {};
    clearErrors(permForm);
    var full = $('perm-full').checked;
    if (full !== t.full_access) { body.full_access = full; }
    if (!full) {
      var scopes = chosenScopes($('perm-features'), $('perm-text'), $('perm-other-list'));
      if (!scopes.length) { showError(permForm, 'features', 'Choose at least one feature, or full access.'); return; }
      if (!sameSet(scopes, t.scopes) || body.full_access !== undefined) { body.scopes = scopes; }
    }
    var exp = expiryField('perm');
    if (exp instanceof Error) { showError(permForm, 'expiry', exp.message); return; }
    if (exp !== undefined) { body.expires = exp; }
    var nets = splitWords($('perm-nets').value);
    if (!sameSet(nets, t.allowed_networks)) { body.allowed_networks = nets; }
    var res = splitWords($('perm-res').value);
    if (!sameSet(res, t.resources)) { body.resources = res; }
    patch($('perm-dialog'), permForm, t, body, function () {
      return 'Permissions of ' + t.name + ' saved.';
    });
  });

  /* ------------------------------------------------------------------
   * Creating. */

  function showCreate(focus) {
    $('create-card').hidden = false;
    $('new-btn').setAttribute('aria-expanded', 'true');
    if (focus) {
      $('create-card').scrollIntoView({ block: 'start' });
      $('name').focus();
    }
  }
  function hideCreate() {
    $('create-card').hidden = true;
    $('new-btn').setAttribute('aria-expanded', 'false');
    $('new-btn').focus();
  }
  function resetCreate() {
    $('create-form').reset();
    clearErrors(createForm);
    featureControls($('features'), 'f-', {});
    expiryChoices('expiry', null);
    syncAccess($('access-full'), $('features-box'));
  }

  $('new-btn').addEventListener('click', function () { showCreate(true); });
  $('create-cancel').addEventListener('click', function () { resetCreate(); hideCreate(); });
  $('access-full').addEventListener('change', function () { syncAccess($('access-full'), $('features-box')); });
  $('access-restricted').addEventListener('change', function () { syncAccess($('access-full'), $('features-box')); });
  $('expiry-date').addEventListener('input', function () { $('expiry-on').checked = true; expirySync('expiry'); });

  $('create-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    clearErrors(createForm);
    var name = $('name').value.trim();
    if (!name) { showError(createForm, 'name', 'Give the token a name.'); return; }
    var body = { name: name, full_access: $('access-full').checked };
    if ($('description').value.trim()) { body.description = $('description').value.trim(); }
    if (!body.full_access) {
      body.scopes = chosenScopes($('features'), $('scopes-text'), null);
      if (!body.scopes.length) { showError(createForm, 'features', 'Choose at least one feature, or full access.'); return; }
    }
    var exp = expiryField('expiry');
    if (exp instanceof Error) { showError(createForm, 'expiry', exp.message); return; }
    body.expires = exp;
    var nets = splitWords($('nets').value);
    if (nets.length) { body.allowed_networks = nets; }
    var res = splitWords($('res').value);
    if (res.length) { body.resources = res; }
    $('create-btn').disabled = true;
    call('POST', 'tokens', body).then(function (doc) {
      resetCreate();
      $('create-card').hidden = true;
      $('new-btn').setAttribute('aria-expanded', 'false');
      say('Token ' + doc.name + ' created.');
      load();
      showSecret(doc, 'Your new token: ' + doc.name);
    }).catch(function (err) { apiError(createForm, err); })
      .then(function () { $('create-btn').disabled = false; });
  });

  call('GET', 'features').then(function (doc) {
    info = doc;
    info.features.forEach(function (f) { f.levels = f.levels || []; });
    $('scopes-free').hidden = info.catalogue;
    $('perm-free').hidden = info.catalogue;
    resetCreate();
    return load().then(function () {
      /* Last: once this shows, the list and the form are ready. */
      $('whoami').textContent = 'Signed in as ' + doc.user +
        (doc.owner !== doc.user ? ', managing the tokens of ' + doc.owner : '');
    });
  }).catch(complain);
}());
