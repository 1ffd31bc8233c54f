// The click-to-chat code page: ask the relay whether the phone's message has arrived.
(function () {
  var box = document.getElementById('chat');
  if (!box) return;
  function poll() {
    fetch(box.dataset.poll, {credentials: 'same-origin'})
      .then(function (r) { return r.json(); })
      .then(function (state) {
        if (state.next) { window.location.assign(state.next); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
