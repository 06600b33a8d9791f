// The reference system's one script, served by the app (CSP: script-src 'self';
// no inline script, no inline handler).
//
// A link with data-dialog="ID" opens <dialog id="ID"> instead of following the
// link. The dialog's Cancel button (formmethod="dialog") closes it without a
// request; its other button submits the dialog's form (with its CSRF token).
// Without JavaScript the link leads to a confirmation page of its own.
"use strict";

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-dialog]");
  if (link === null) {
    return;
  }
  const dialog = document.getElementById(link.dataset.dialog);
  if (dialog === null || typeof dialog.showModal !== "function") {
    return; // the confirmation page, then
  }
  event.preventDefault();
  dialog.showModal();
  const cancel = dialog.querySelector("[formmethod=dialog]");
  if (cancel !== null) {
    cancel.focus(); // the safe answer is the default one
  }
});
