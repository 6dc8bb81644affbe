// Passkeys in the browser: registration (Security info), second step (/login/mfa) and
// username-less sign-in (/login), offered too in the username field's autofill where the
// browser supports it (conditional mediation). Served from Twofold itself, so the strict CSP
// holds.
// Buttons carry data-passkey="register|second-factor|sign-in"; the CSRF token is read
// from the page's form and sent as X-CSRF-Token. What it says comes from the page's
// data-msg-* attributes on <body> (the catalogue's words in the reader's language).
(function () {
  'use strict';

  function text(name, fallback) {
    var value = document.body && document.body.getAttribute('data-msg-' + name);
    return value || fallback;
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrf"]');
    return input ? input.value : '';
  }

  function status(message, isError) {
    var box = document.getElementById('passkey-status');
    if (!box) return;
    box.textContent = message;
    box.setAttribute('role', isError ? 'alert' : 'status');
    box.className = isError ? 'error' : 'notice';
    box.hidden = false;
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) throw new Error(json.detail || json.title || ('HTTP ' + response.status));
        return json;
      });
    });
  }

  function returnTo() {
    var input = document.querySelector('input[name="return_to"]');
    return input ? input.value : '/account';
  }

  var flows = {
    register: function (button) {
      var name = document.getElementById('passkey-name');
      var replaces = document.getElementById('passkey-replaces');
      return post('/account/security/passkey/options').then(function (start) {
        var publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(start.options);
        return navigator.credentials.create({ publicKey: publicKey }).then(function (credential) {
          return post('/account/security/passkey', {
            ceremony: start.ceremony,
            name: name ? name.value : text('passkey-name', 'Passkey'),
            credential: credential.toJSON(),
            replaces: replaces ? replaces.value : null,
          });
        });
      }).then(function (done) { window.location.assign(done.redirect); });
    },
    'second-factor': function () {
      return post('/login/mfa/passkey/options').then(function (start) {
        var publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(start.options);
        return navigator.credentials.get({ publicKey: publicKey }).then(function (credential) {
          var trust = document.getElementById('trust_device');
          return post('/login/mfa/passkey', {
            ceremony: start.ceremony,
            credential: credential.toJSON(),
            return_to: returnTo(),
            trust_device: Boolean(trust && trust.checked),
          });
        });
      }).then(function (done) { window.location.assign(done.redirect); });
    },
    'sign-in': function () {
      return post('/login/passkey/options').then(function (start) {
        var publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(start.options);
        return navigator.credentials.get({ publicKey: publicKey }).then(function (credential) {
          return post('/login/passkey', { ceremony: start.ceremony, credential: credential.toJSON(), return_to: returnTo() });
        });
      }).then(function (done) { window.location.assign(done.redirect); });
    },
  };

  // The autofill request waiting on the sign-in page, aborted before a button starts its own
  // (a browser serves one WebAuthn request at a time).
  var autofill = null;

  function stopAutofill() {
    if (autofill) autofill.abort();
    autofill = null;
  }

  function offerInAutofill() {
    if (!document.querySelector('input[autocomplete~="webauthn"]')) return;
    if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
    var controller = new AbortController();
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || controller.signal.aborted) return null;
      autofill = controller;
      return post('/login/passkey/options').then(function (start) {
        if (controller.signal.aborted) return null;
        var publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(start.options);
        return navigator.credentials.get({ publicKey: publicKey, mediation: 'conditional', signal: controller.signal })
          .then(function (credential) {
            autofill = null;
            return post('/login/passkey', { ceremony: start.ceremony, credential: credential.toJSON(), return_to: returnTo() });
          })
          .then(function (done) { window.location.assign(done.redirect); });
      });
    }).catch(function (error) {
      if (controller.signal.aborted || (error && error.name === 'AbortError')) return;
      status(text('failed', 'That did not work: {error}').replace('{error}', function () { return error.message; }), true);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    offerInAutofill();
    var buttons = document.querySelectorAll('button[data-passkey]');
    Array.prototype.forEach.call(buttons, function (button) {
      if (!window.PublicKeyCredential) {
        button.hidden = true;
        // Where a passkey was the way forward, say why it is not offered.
        var kind = button.getAttribute('data-passkey');
        if (kind === 'register') status(text('passkey-register-unsupported', 'This browser cannot set up passkeys. Use an authenticator app instead, or another browser.'), false);
        if (kind === 'second-factor') status(text('passkey-unsupported', 'This browser cannot use passkeys. Use another method below, or another browser.'), false);
        return;
      }
      button.addEventListener('click', function (event) {
        event.preventDefault();
        button.disabled = true;
        stopAutofill();
        flows[button.getAttribute('data-passkey')](button).catch(function (error) {
          status(text('failed', 'That did not work: {error}').replace('{error}', function () { return error.message; }), true);
          button.disabled = false;
          offerInAutofill();
        });
      });
    });
  });
})();
