// Small page behaviour, served by Twofold itself (the strict CSP holds): times written in
// UTC by the server are shown in the reader's own time zone on hover, the recovery codes
// page's copy and print buttons, and the focus on the field a refused form is about. What it
// says comes from the page's data-msg-* attributes on <body>, in the reader's language.
(function () {
  'use strict';
  function text(name, fallback) {
    var value = document.body && document.body.getAttribute('data-msg-' + name);
    return value || fallback;
  }
  function localTimes() {
    var times = document.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var at = new Date(times[i].getAttribute('datetime'));
      if (!isNaN(at.getTime())) times[i].title = at.toLocaleString();
    }
  }
  function codeButtons() {
    var copy = document.querySelector('[data-copy-codes]');
    if (copy && navigator.clipboard) {
      copy.hidden = false;
      copy.addEventListener('click', function () {
        var codes = Array.prototype.map.call(document.querySelectorAll('ul.codes code'), function (c) { return c.textContent; });
        navigator.clipboard.writeText(codes.join('\n')).then(function () {
          var status = document.getElementById('codes-status');
          if (status) { status.textContent = text('copied', 'Copied.'); status.hidden = false; }
        });
      });
    }
    var print = document.querySelector('[data-print]');
    if (print) {
      print.hidden = false;
      print.addEventListener('click', function () { window.print(); });
    }
  }
  // After a refused form, the field it is about has the focus (and the message is read out).
  function focusFirstError() {
    var field = document.querySelector('[aria-invalid="true"]');
    if (field) field.focus();
  }
  document.addEventListener('DOMContentLoaded', function () { localTimes(); codeButtons(); focusFirstError(); });
})();
