/* Manage API Tokens: talks to the JSON API next to this page.  Every
 * value from the server is put into the page as text, never as HTML. */
(function () {
  'use strict';

  var API = 'api/';
  var owner = new URLSearchParams(location.search).get('owner');
  var catalogue = [];
  var hasCatalogue = false;
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
          var msg = doc && doc.message ? doc.message : 'HTTP ' + resp.status;
          var err = new Error(msg);
          err.status = resp.status;
          throw err;
        }
        return doc;
      });
    });
  }

  function say(text) {
    $('errors').textContent = '';
    $('messages').textContent = text;
  }

  function complain(err) {
    $('messages').textContent = '';
    $('errors').textContent = err && err.message ? err.message : String(err);
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

  var STATUS_TEXT = {
    active: 'Active', expiring_soon: 'Expiring soon',
    expired: 'Expired', revoked: 'Revoked'
  };

  /* Dialogs: remember what had focus and give it back on close. */
  var returnFocus = null;
  function openDialog(d, focusEl) {
    returnFocus = document.activeElement;
    d.showModal();
    if (focusEl) { focusEl.focus(); }
  }
  function closeDialog(d) {
    if (d.open) { d.close(); }
  }
  ['secret-dialog', 'confirm-dialog', 'rename-dialog', 'perm-dialog'].forEach(function (id) {
    $(id).addEventListener('close', function () {
      if (id === 'secret-dialog') {
        /* The secret leaves the page with the dialog. */
        $('secret-value').value = '';
        $('copy-status').textContent = '';
      }
      if (returnFocus && document.contains(returnFocus)) { returnFocus.focus(); }
      else { $('tokens-heading').focus(); }
    });
  });

  function featureBoxes(container, prefix, checked) {
    container.textContent = '';
    catalogue.forEach(function (f) {
      var id = prefix + f.name;
      var wrap = el('div', { 'class': 'choice' });
      var box = el('input', { type: 'checkbox', id: id, value: f.name,
                              'aria-describedby': id + '-desc' });
      box.checked = checked.indexOf(f.name) >= 0;
      wrap.appendChild(box);
      wrap.appendChild(el('label', { 'for': id }, f.name));
      wrap.appendChild(el('span', { id: id + '-desc', 'class': 'feature-desc' }, f.description));
      container.appendChild(wrap);
    });
  }

  function chosenScopes(container, freeInput) {
    if (!hasCatalogue) {
      return freeInput.value.split(/[\s,]+/).filter(function (s) { return s; });
    }
    return Array.prototype.filter.call(container.querySelectorAll('input[type=checkbox]'),
      function (b) { return b.checked; }).map(function (b) { return b.value; });
  }

  function syncAccess(fullRadio, box) {
    var full = fullRadio.checked;
    box.querySelectorAll('input').forEach(function (i) { i.disabled = full; });
  }

  function render() {
    var body = $('token-rows');
    body.textContent = '';
    $('empty').hidden = tokens.length > 0;
    tokens.forEach(function (t) {
      var tr = el('tr', { 'data-id': t.id });
      var name = el('td', { 'data-label': 'Name' });
      name.appendChild(el('strong', {}, t.name));
      if (t.description) { name.appendChild(el('div', { 'class': 'muted' }, t.description)); }
      name.appendChild(el('div', { 'class': 'muted' }, 'id ' + t.id));
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
      tr.appendChild(perms);
      tr.appendChild(el('td', { 'data-label': 'Created' }, day(t.created_at)));
      tr.appendChild(el('td', { 'data-label': 'Expires' }, t.expires_at ? day(t.expires_at) : 'Never'));
      tr.appendChild(el('td', { 'data-label': 'Last used' },
                        t.last_used_at ? day(t.last_used_at) + (t.last_used_addr ? ' from ' + t.last_used_addr : '') : 'Never'));
      var act = el('td', { 'data-label': 'Actions' });
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
        button('revoke', 'Revoke', 'danger');
      }
      button('delete', 'Delete');
      act.appendChild(box);
      tr.appendChild(act);
      body.appendChild(tr);
    });
  }

  function load() {
    return call('GET', 'tokens').then(function (doc) {
      tokens = doc.tokens;
      render();
    }).catch(complain);
  }

  function showSecret(doc, what) {
    $('secret-title').textContent = what;
    $('secret-value').value = doc.token;
    openDialog($('secret-dialog'), $('secret-value'));
    $('secret-value').select();
  }

  $('copy-btn').addEventListener('click', function () {
    var v = $('secret-value');
    function done(ok) {
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
  $('secret-done').addEventListener('click', function () { closeDialog($('secret-dialog')); });

  /* Confirmation for revoke, rotate and delete. */
  var pending = null;
  function confirmThen(title, text, okText, withGrace, fn) {
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okText;
    $('grace-row').hidden = !withGrace;
    pending = fn;
    openDialog($('confirm-dialog'), $('confirm-cancel'));
  }
  $('confirm-cancel').addEventListener('click', function () { pending = null; closeDialog($('confirm-dialog')); });
  $('confirm-ok').addEventListener('click', function () {
    var fn = pending;
    pending = null;
    closeDialog($('confirm-dialog'));
    if (fn) { fn(); }
  });

  var current = null;
  var actions = {
    rename: function (t) {
      current = t;
      $('rename-name').value = t.name;
      openDialog($('rename-dialog'), $('rename-name'));
    },
    permissions: function (t) {
      current = t;
      $(t.full_access ? 'perm-full' : 'perm-restricted').checked = true;
      featureBoxes($('perm-features'), 'perm-f-', t.scopes);
      $('perm-text').value = t.scopes.join(' ');
      $(t.expires_at ? 'perm-on' : 'perm-never').checked = true;
      $('perm-date').value = t.expires_at ? t.expires_at.slice(0, 10) : '';
      syncAccess($('perm-full'), $('perm-features'));
      openDialog($('perm-dialog'), $(t.full_access ? 'perm-full' : 'perm-restricted'));
    },
    rotate: function (t) {
      confirmThen('Rotate ' + t.name + '?', 'A new secret replaces the current one. Scripts using the old one must be updated.',
        'Rotate', true, function () {
          var g = $('grace').value;
          call('POST', 'tokens/' + t.id + '/rotate', g === '0' ? {} : { grace: g }).then(function (doc) {
            say('Token ' + t.name + ' rotated.');
            load();
            showSecret(doc, 'New secret for ' + t.name);
          }).catch(complain);
        });
    },
    revoke: function (t) {
      confirmThen('Revoke ' + t.name + '?', 'The token stops working at once. This cannot be undone.',
        'Revoke', false, function () {
          call('POST', 'tokens/' + t.id + '/revoke', {}).then(function () {
            say('Token ' + t.name + ' revoked.');
            return load();
          }).catch(complain);
        });
    },
    'delete': function (t) {
      confirmThen('Delete ' + t.name + '?', 'The token disappears from the list and stops working. Its audit events are kept.',
        'Delete', false, function () {
          call('DELETE', 'tokens/' + t.id, {}).then(function () {
            say('Token ' + t.name + ' deleted.');
            return load();
          }).catch(complain);
        });
    }
  };

  $('rename-cancel').addEventListener('click', function () { closeDialog($('rename-dialog')); });
  $('rename-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = current;
    call('PATCH', 'tokens/' + t.id, { name: $('rename-name').value }).then(function () {
      closeDialog($('rename-dialog'));
      say('Token renamed to ' + $('rename-name').value + '.');
      return load();
    }).catch(complain);
  });

  $('perm-cancel').addEventListener('click', function () { closeDialog($('perm-dialog')); });
  $('perm-full').addEventListener('change', function () { syncAccess($('perm-full'), $('perm-features')); });
  $('perm-restricted').addEventListener('change', function () { syncAccess($('perm-full'), $('perm-features')); });
  $('perm-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = current;
    var body = { full_access: $('perm-full').checked };
    if (!body.full_access) { body.scopes = chosenScopes($('perm-features'), $('perm-text')); }
    if ($('perm-on').checked) {
      if (!$('perm-date').value) { complain('Choose an expiry date.'); return; }
      body.expires = $('perm-date').value + 'T23:59:59Z';
    } else {
      body.expires = null;
    }
    call('PATCH', 'tokens/' + t.id, body).then(function () {
      closeDialog($('perm-dialog'));
      say('Permissions of ' + t.name + ' saved.');
      return load();
    }).catch(complain);
  });

  $('access-full').addEventListener('change', function () { syncAccess($('access-full'), $('features-box')); });
  $('access-restricted').addEventListener('change', function () { syncAccess($('access-full'), $('features-box')); });
  $('expiry-date').addEventListener('change', function () { $('expiry-on').checked = true; });

  $('create-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var name = $('name').value.trim();
    if (!name) { complain('Give the token a name.'); $('name').focus(); return; }
    var body = { name: name, full_access: $('access-full').checked };
    if ($('description').value.trim()) { body.description = $('description').value.trim(); }
    if (!body.full_access) {
      body.scopes = chosenScopes($('features'), $('scopes-text'));
      if (!body.scopes.length) { complain('Choose at least one feature, or full access.'); return; }
    }
    if ($('expiry-on').checked) {
      if (!$('expiry-date').value) { complain('Choose an expiry date.'); $('expiry-date').focus(); return; }
      body.expires = $('expiry-date').value + 'T23:59:59Z';
    }
    if ($('nets').value.trim()) { body.allowed_networks = $('nets').value.trim().split(/[\s,]+/); }
    $('create-btn').disabled = true;
    call('POST', 'tokens', body).then(function (doc) {
      $('create-form').reset();
      syncAccess($('access-full'), $('features-box'));
      say('Token ' + doc.name + ' created.');
      load();
      showSecret(doc, 'Your new token: ' + doc.name);
    }).catch(complain).then(function () { $('create-btn').disabled = false; });
  });

  call('GET', 'features').then(function (doc) {
    catalogue = doc.features;
    hasCatalogue = doc.catalogue;
    $('whoami').textContent = 'Signed in as ' + doc.user +
      (doc.owner !== doc.user ? ', managing the tokens of ' + doc.owner : '');
    $('scopes-free').hidden = hasCatalogue;
    $('perm-free').hidden = hasCatalogue;
    featureBoxes($('features'), 'f-', []);
    return load();
  }).catch(complain);
}());
