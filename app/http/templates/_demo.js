  // Shared by the demo pages: base64url, and an ID token checked as a relying party must —
  // signature against the issuer's /jwks, then iss, aud and exp (OpenID Core §3.1.3.7).
  var ISSUER = {{ issuer|tojson }};
  var $ = function (id) { return document.getElementById(id); };
  function b64bytes(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function randomId() {
    var text = "";
    crypto.getRandomValues(new Uint8Array(24)).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  var ALGS = {
    RS256: [{name: "RSASSA-PKCS1-v1_5", hash: "SHA-256"}, {name: "RSASSA-PKCS1-v1_5"}],
    PS256: [{name: "RSA-PSS", hash: "SHA-256"}, {name: "RSA-PSS", saltLength: 32}],
    ES256: [{name: "ECDSA", namedCurve: "P-256"}, {name: "ECDSA", hash: "SHA-256"}],
    EdDSA: [{name: "Ed25519"}, {name: "Ed25519"}]
  };
  async function verifyIdToken(idToken, clientId) {
    var parts = idToken.split(".");
    var header = JSON.parse(new TextDecoder().decode(b64bytes(parts[0])));
    var claims = JSON.parse(new TextDecoder().decode(b64bytes(parts[1])));
    var keys = (await (await fetch("/jwks")).json()).keys;
    var jwk = keys.filter(function (k) { return k.kid === header.kid; })[0];
    if (!jwk) { throw new Error("the ID token's key " + header.kid + " is not in /jwks"); }
    var alg = ALGS[header.alg];
    if (!alg) { throw new Error("unexpected ID token algorithm " + header.alg); }
    var key = await crypto.subtle.importKey("jwk", jwk, alg[0], false, ["verify"]);
    var good = await crypto.subtle.verify(alg[1], key, b64bytes(parts[2]),
      new TextEncoder().encode(parts[0] + "." + parts[1]));
    if (!good) { throw new Error("the ID token's signature does not verify against /jwks"); }
    if (claims.iss !== ISSUER) { throw new Error("the ID token names another issuer"); }
    var aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (aud.indexOf(clientId) < 0) { throw new Error("the ID token is for another client"); }
    if (claims.exp * 1000 < Date.now()) { throw new Error("the ID token has expired"); }
    claims._alg = header.alg;
    return claims;
  }
  // The ID token checked, then the profile from /userinfo with the access token (the ID token of
  // a CIBA login carries the subject; names and contacts come by scope from /userinfo), which
  // must name the same subject (OpenID Core §5.3.2).
  async function identify(tokens, clientId) {
    var claims = await verifyIdToken(tokens.id_token, clientId);
    var info = await fetch("/userinfo", {headers: {Authorization: "Bearer " + tokens.access_token}});
    if (info.ok) {
      var profile = await info.json();
      if (profile.sub !== claims.sub) { throw new Error("/userinfo names another subject"); }
      claims = Object.assign({}, profile, claims);
    }
    return claims;
  }
  // The verified identity as a small table; the raw token response folded away beneath it.
  function showIdentity(box, claims, response) {
    var rows = [["Name", claims.name], ["Username", claims.preferred_username],
      ["Email", claims.email], ["Phone", claims.phone_number], ["Subject (sub)", claims.sub],
      ["Signed with", claims._alg + ", key in /jwks"]];
    var table = document.createElement("table");
    rows.forEach(function (row) {
      if (!row[1]) { return; }
      var tr = table.insertRow();
      tr.insertCell().textContent = row[0];
      tr.insertCell().textContent = row[1];
    });
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = "Raw token response";
    var pre = document.createElement("pre");
    pre.textContent = JSON.stringify(response, null, 2);
    details.append(summary, pre);
    box.replaceChildren(table, details);
  }
  // Payments (RFC 9396, docs/flows/payments.md): one payment_initiation entry to send, and any
  // such entries in words — what is asked, and what a token response says was approved.
  var REF_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
  function paymentRef() {
    return Array.from(crypto.getRandomValues(new Uint8Array(6)), function (b) {
      return REF_ALPHABET[b % REF_ALPHABET.length];
    }).join("");
  }
  function decimalAmount(text) {
    var value = Number(String(text).trim().replace(",", "."));
    return isFinite(value) && value > 0 && value < 1e12 ? value.toFixed(2) : null;
  }
  function paymentDetails(amount, payee, iban, ref) {
    var entry = {type: "payment_initiation", actions: ["initiate"],
      instructedAmount: {currency: "EUR", amount: amount}, creditorName: payee,
      remittanceInformationUnstructured: ref};
    if (iban) { entry.creditorAccount = {iban: iban}; }
    return [entry];
  }
  function paymentWords(details) {
    return (details || []).filter(function (d) { return d.type === "payment_initiation"; })
      .map(function (d) {
        // The phone's words (app/rar/render.py), so the two screens can be compared.
        var ref = d.remittanceInformationUnstructured, account = d.creditorAccount || {};
        var number = account.iban || account.accountNumber;
        return "Pay " + d.instructedAmount.amount + " " + d.instructedAmount.currency + " to " +
          d.creditorName + (number ? " (" + number + ")" : "") + (ref ? ", ref " + ref : "");
      }).join("; ");
  }
