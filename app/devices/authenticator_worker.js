// The web authenticator's service worker: it makes the page installable and shows the Web Push
// notification the server sends when a sign-in request arrives (app/push/webpush.py). The push
// carries a generic alert and the request id only; the page fetches who asks over the device
// API once opened, so a notification on a lock screen says nothing about the user.
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { /* not ours: generic */ }
  var requestId = typeof data.request_id === "string" ? data.request_id : "";
  event.waitUntil(Promise.all([
    self.registration.showNotification(data.title || "Sign-in request", {
      body: data.body || "Open the app to review a sign-in request.",
      tag: "request-" + requestId,  // one notification per request, however often it rings
      data: {request_id: requestId},
      requireInteraction: true,  // a person is waiting on another screen
    }),
    // An open page shows the request at once (its stream may be asleep in the background).
    self.clients.matchAll({type: "window"}).then(function (windows) {
      windows.forEach(function (w) { w.postMessage({type: "push", request_id: requestId}); });
    }),
  ]));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true})
    .then(function (windows) {
      var open = windows.filter(function (w) {
        return new URL(w.url).pathname === "/authenticator";
      })[0];
      return open ? open.focus() : self.clients.openWindow("/authenticator");
    }));
});
