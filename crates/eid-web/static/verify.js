// The verifier desk (/verify): loads the platform's published keys (/oauth2/jwks) and the
// signed status list (/wallet/status) once, then checks a presentation (EID1: + base45 of a
// COSE_Sign1 CWT, ES256) entirely in this browser with WebCrypto: signature, expiry, status.
// Shows only the claims the presentation carries. No network is needed after loading.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const L = {};
  for (const s of document.querySelectorAll("#v-labels span")) L[s.dataset.k] = s.textContent;
  const t = (k) => L[k] || k;
  const vi = document.documentElement.lang === "vi";
  const state = { keys: new Map(), list: null, loadedAt: null };
  const seen = new Set();
  try { for (const c of JSON.parse(localStorage.getItem("eid-verify-seen") || "[]")) seen.add(c); } catch (_) { /* no storage */ }

  // ---- encodings -------------------------------------------------------------------------
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  function unbase45(s) {
    const out = [];
    for (let i = 0; i < s.length; i += 3) {
      const c = B45.indexOf(s[i]), d = B45.indexOf(s[i + 1]);
      if (c < 0 || d < 0) throw new Error("malformed");
      if (i + 2 < s.length) {
        const e = B45.indexOf(s[i + 2]);
        if (e < 0) throw new Error("malformed");
        const n = c + d * 45 + e * 2025;
        if (n > 0xffff) throw new Error("malformed");
        out.push(n >> 8, n & 0xff);
      } else {
        const n = c + d * 45;
        if (n > 0xff) throw new Error("malformed");
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }
  function unb64url(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  }
  const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");

  // A small CBOR reader: integers, byte and text strings, arrays, maps (as arrays of pairs),
  // tags ({tag, value}), false/true/null.
  function cbor(bytes) {
    let p = 0;
    const need = (n) => { if (p + n > bytes.length) throw new Error("malformed"); };
    function arg(info) {
      if (info < 24) return info;
      const n = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
      if (!n) throw new Error("malformed");
      need(n);
      let v = 0;
      for (let i = 0; i < n; i++) v = v * 256 + bytes[p++];
      return v;
    }
    function item(depth) {
      if (depth > 16) throw new Error("malformed");
      need(1);
      const b = bytes[p++], major = b >> 5, info = b & 31;
      if (major === 7) {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        throw new Error("malformed");
      }
      const n = arg(info);
      switch (major) {
        case 0: return n;
        case 1: return -1 - n;
        case 2: need(n); p += n; return bytes.slice(p - n, p);
        case 3: need(n); p += n; return new TextDecoder("utf-8", { fatal: true }).decode(bytes.slice(p - n, p));
        case 4: { const a = []; for (let i = 0; i < n; i++) a.push(item(depth + 1)); return a; }
        case 5: { const m = []; for (let i = 0; i < n; i++) m.push([item(depth + 1), item(depth + 1)]); return m; }
        case 6: return { tag: n, value: item(depth + 1) };
      }
      throw new Error("malformed");
    }
    const v = item(0);
    if (p !== bytes.length) throw new Error("malformed");
    return v;
  }
  function head(major, n) {
    if (n < 24) return [(major << 5) | n];
    if (n < 256) return [(major << 5) | 24, n];
    if (n < 65536) return [(major << 5) | 25, n >> 8, n & 255];
    return [(major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  // Sig_structure = ["Signature1", protected, external_aad (empty), payload].
  function sigStructure(prot, payload) {
    const ctx = new TextEncoder().encode("Signature1");
    const parts = [head(4, 4), head(3, ctx.length), ctx, head(2, prot.length), prot, head(2, 0), head(2, payload.length), payload];
    const out = new Uint8Array(parts.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of parts) { out.set(x, o); o += x.length; }
    return out;
  }
  const get = (m, k) => { for (const [a, b] of m) if (a === k) return b; return undefined; };

  // ---- loading (once) --------------------------------------------------------------------
  async function load() {
    const jwks = await (await fetch("/oauth2/jwks", { cache: "no-store" })).json();
    for (const k of jwks.keys || []) {
      if (k.kty !== "EC" || k.crv !== "P-256") continue;
      const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: k.x, y: k.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      state.keys.set(k.kid, key);
    }
    const jwt = (await (await fetch("/wallet/status", { cache: "no-store" })).text()).trim();
    const [h, c, s] = jwt.split(".");
    const header = JSON.parse(new TextDecoder().decode(unb64url(h)));
    const key = state.keys.get(header.kid);
    if (header.typ !== "statuslist+jwt" || header.alg !== "ES256" || !key) throw new Error("status");
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, unb64url(s), new TextEncoder().encode(h + "." + c));
    if (!ok) throw new Error("status");
    const claims = JSON.parse(new TextDecoder().decode(unb64url(c)));
    const z = unb64url(claims.status_list.lst);
    const stream = new Blob([z]).stream().pipeThrough(new DecompressionStream("deflate"));
    state.list = new Uint8Array(await new Response(stream).arrayBuffer());
    state.loadedAt = new Date();
  }

  // ---- checking --------------------------------------------------------------------------
  async function check(text) {
    text = text.replace(/^\s+/, "").replace(/[\r\n]+$/, "");
    if (!text.startsWith("EID1:")) return { bad: "malformed" };
    let msg, prot, claims;
    try {
      msg = cbor(unbase45(text.slice(5)));
      if (!msg || msg.tag !== 18 || !Array.isArray(msg.value) || msg.value.length !== 4) return { bad: "malformed" };
      const [p, , payload, sig] = msg.value;
      prot = cbor(p);
      if (get(prot, 1) !== -7 || get(prot, 16) !== "application/eid-presentation+cwt") return { bad: "malformed" };
      const kid = new TextDecoder().decode(get(prot, 4));
      const key = state.keys.get(kid);
      if (!key) return { bad: "unknown_key" };
      const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, sig, sigStructure(p, payload));
      if (!ok) return { bad: "bad_signature" };
      claims = cbor(payload);
    } catch (_) {
      return { bad: "malformed" };
    }
    const exp = get(claims, 4), cti = get(claims, 7), status = get(claims, 65535);
    const sl = status && get(status, "status_list");
    const idx = sl && get(sl, "idx");
    if (typeof exp !== "number" || !(cti instanceof Uint8Array) || typeof idx !== "number") return { bad: "malformed" };
    if (Date.now() / 1000 >= exp) return { bad: "expired" };
    if (!state.list) return { bad: "malformed" };
    const byte = state.list[Math.floor(idx / 8)];
    if (byte === undefined || (byte >> (idx % 8)) & 1) return { bad: "revoked" };
    const shown = claims.filter(([k]) => typeof k === "string");
    const id = hex(cti);
    const again = seen.has(id);
    seen.add(id);
    try { localStorage.setItem("eid-verify-seen", JSON.stringify([...seen].slice(-500))); } catch (_) { /* no storage */ }
    return { ok: true, exp, claims: shown, again };
  }

  function value(k, v) {
    if (v === true) return t("ui.yes");
    if (v === false) return t("ui.no");
    if (k === "purpose") return t("purpose." + v);
    if (k === "sex") return v === "M" ? (vi ? "Nam" : "Male") : (vi ? "Nữ" : "Female");
    if (k === "nat" && v === "VN") return vi ? "Việt Nam" : "Vietnamese";
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(v));
    if (m && vi) return m[3] + "/" + m[2] + "/" + m[1];
    return String(v);
  }

  function show(r, online) {
    const box = $("v-result");
    box.replaceChildren();
    const div = document.createElement("div");
    div.className = "w-result " + (r.ok ? "ok" : "bad");
    div.id = "v-verdict";
    div.dataset.verdict = r.ok ? "ok" : r.bad;
    const h = document.createElement("h2");
    h.textContent = r.ok ? t(online ? "ui.online_ok" : "ui.ok") : t("bad." + r.bad);
    div.append(h);
    if (r.ok) {
      if (r.again) {
        const w = document.createElement("p");
        w.className = "me-note";
        w.id = "v-seen";
        w.textContent = t("ui.seen");
        div.append(w);
      }
      const dl = document.createElement("dl");
      dl.className = "me-facts";
      for (const [k, v] of r.claims) {
        const dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = k === "purpose" ? t("ui.purpose") : t(k);
        dd.textContent = value(k, v);
        dd.dataset.claim = k;
        dl.append(dt, dd);
      }
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = t("ui.expires");
      dd.textContent = new Date(r.exp * 1000).toLocaleTimeString(vi ? "vi-VN" : "en-GB", { timeZone: "Asia/Ho_Chi_Minh" });
      dl.append(dt, dd);
      div.append(dl);
    }
    box.append(div);
  }

  async function online() {
    const body = new URLSearchParams({ text: $("v-text").value, verifier: $("v-desk").value });
    try {
      const r = await (await fetch("/verify/online", { method: "POST", body })).json();
      if (r.ok) {
        show({ ok: true, exp: r.expires_at, claims: [["purpose", r.purpose], ...Object.entries(r.claims)] }, true);
      } else show({ bad: r.code }, true);
    } catch (_) {
      show({ bad: "malformed" }, true);
    }
  }

  async function scan() {
    const video = $("v-video");
    let detector;
    try {
      detector = new BarcodeDetector({ formats: ["qr_code"] });
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (_) {
      $("v-state").textContent = t("ui.nocamera");
      return;
    }
    video.hidden = false;
    await video.play();
    $("v-state").textContent = t("ui.camera");
    const tick = async () => {
      const codes = await detector.detect(video).catch(() => []);
      const hit = codes.find((c) => c.rawValue.startsWith("EID1:"));
      if (!hit) return setTimeout(tick, 250);
      for (const tr of video.srcObject.getTracks()) tr.stop();
      video.hidden = true;
      $("v-text").value = hit.rawValue;
      show(await check(hit.rawValue), false);
    };
    tick();
  }

  $("v-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    show(await check($("v-text").value), false);
  });
  $("v-online").addEventListener("click", online);
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    $("v-scan").hidden = false;
    $("v-scan").addEventListener("click", scan);
  } else {
    $("v-scan").hidden = true;
  }
  load().then(
    () => {
      const s = $("v-state");
      s.textContent = t("ui.ready") + " " + state.loadedAt.toLocaleTimeString(vi ? "vi-VN" : "en-GB", { timeZone: "Asia/Ho_Chi_Minh" });
      s.dataset.ready = "1";
    },
    () => { $("v-state").textContent = t("ui.stale"); $("v-state").className = "me-alert"; }
  );
})();
