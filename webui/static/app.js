// Warren admin: the little glue htmx attributes cannot express. Loaded as a file (the CSP
// allows no inline script). It shows htmx errors in the flash area and sends the browser to the
// sign-in page when a fragment answers 401 (the session ended).
'use strict';

(function () {
  function flash(text, kind) {
    var el = document.getElementById('flash');
    if (!el) return;
    el.textContent = text; // text, never HTML
    el.className = 'flash ' + (kind || 'error');
    el.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(function () { el.hidden = true; }, 8000);
  }

  document.addEventListener('htmx:responseError', function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status === 401) {
      window.location.assign('/login');
      return;
    }
    var text = (xhr.responseText || '').replace(/<[^>]*>/g, '').trim();
    flash(text || 'The appliance answered ' + xhr.status + '. Reload the page and try again.');
  });

  document.addEventListener('htmx:sendError', function () {
    flash('The appliance did not answer. Is it still on? Reload the page to try again.');
  });

  // An invite text box selects itself when focused, ready to copy.
  document.addEventListener('focusin', function (evt) {
    var t = evt.target;
    if (t && t.id === 'invite-text' && typeof t.select === 'function') t.select();
  });
})();
