// eid's OpenID Connect provider against openid-client v6 (OpenID-certified): discovery, PAR +
// code + PKCE with private_key_jwt, ID token validation, userinfo, refresh rotation and reuse
// detection, RP-initiated logout, and a step-up from level 1 to level 2.
// Starts `eid demo` (development mode) on a temporary SQLite database and port 0, registers the
// relying party with `eid admin client add`, gives two people of the register accounts through
// the app API (level 1, and level 2 by self-service upgrade), and plays the citizen's browser
// with fetch and a cookie jar through the citizen pages' forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const PASSWORD = 'Mật-khẩu-Mạnh-2026';
const PASSCODE = '246810';
const CB = 'http://127.0.0.1:9/cb';
const BYE = 'http://127.0.0.1:9/bye';
const LOA1 = 'urn:eid:vn:loa:1';
const LOA2 = 'urn:eid:vn:loa:2';

let server, base, dir, db, ministryToken, config, privateKey;
const people = {};

const run = (...args) => {
  const r = spawnSync(bin, ['--db', db, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

async function api(method, path, body, bearer) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json };
}

/** The newest SMS code of `purpose` to `phone`, from the development outbox. */
async function smsCode(phone, purpose) {
  for (let i = 0; i < 50; i += 1) {
    const r = await api('GET', '/api/v1/sms?limit=500', undefined, ministryToken);
    const m = r.body.messages?.find((x) => x.to === phone && x.purpose === purpose);
    if (m) return m.body.match(/\b\d{6}\b/)[0];
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`no ${purpose} SMS to ${phone}`);
}

/** A citizen's browser: fetch without following redirects, with a cookie jar. */
class Browser {
  constructor() { this.jar = new Map(); }
  cookies() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  keep(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair.indexOf('=');
      const k = pair.slice(0, at);
      const v = pair.slice(at + 1);
      if (!v || /Max-Age=0/i.test(c)) this.jar.delete(k); else this.jar.set(k, v);
    }
  }
  async go(url, form) {
    const target = url.startsWith('http') ? url : base + url;
    const res = await fetch(target, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: this.cookies(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    this.keep(res);
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  }
}

const field = (html, name) => {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(m, `no ${name} field in ${html.slice(0, 400)}`);
  return m[1].replaceAll('&amp;', '&');
};

/** Signs in on a new browser: password, then the code sent to the bound phone. */
async function signInNew(b, person, next, acr) {
  const page = await b.go('/me/signin?fresh=1');
  const r = await b.go('/me/signin', { csrf: field(page.html, 'csrf'), personal_id: person.personal_id, password: PASSWORD, next, acr, fresh: '0' });
  assert.equal(r.status, 202, r.html);
  const code = await smsCode(person.phone, 'device');
  return b.go('/me/signin/code', { csrf: field(r.html, 'csrf'), handle: field(r.html, 'handle'), code, next, acr, fresh: '0' });
}

/** Follows the provider and the citizen pages until the browser is sent to the client. */
async function toCallback(b, url, { passcode } = {}) {
  let at = url;
  for (let i = 0; i < 12; i += 1) {
    if (at.startsWith(CB) || at.startsWith(BYE)) return at;
    const r = await b.go(at);
    if (r.status === 303 || r.status === 302) { at = r.location; continue; }
    assert.equal(r.status, 200, `${at}: ${r.html.slice(0, 600)}`);
    if (r.html.includes('action="/oauth2/consent"')) {
      const c = await b.go('/oauth2/consent', { rid: field(r.html, 'rid'), csrf: field(r.html, 'csrf'), decision: 'allow' });
      assert.equal(c.status, 303, c.html);
      at = c.location;
    } else if (r.html.includes('action="/me/signin/passcode"')) {
      assert.ok(passcode, 'a passcode was asked for');
      const next = field(r.html, 'next');
      const c = await b.go('/me/signin/passcode', { csrf: field(r.html, 'csrf'), passcode, next, acr: '2' });
      assert.equal(c.status, 303, c.html);
      at = c.location;
    } else {
      throw new Error(`unexpected page at ${at}: ${r.html.slice(0, 600)}`);
    }
  }
  throw new Error('too many steps');
}

/** Gives `p` a level-1 account through the app API (and level 2 with `upgrade`). */
async function account(p, upgrade) {
  const photo = Buffer.from(`eid-dev-portrait:${p.personal_id}`).toString('base64');
  const device = `node-app-${p.personal_id}`;
  let r = await api('POST', '/api/v1/app/register', { personal_id: p.personal_id, phone: p.phone, photo_base64: photo, device_id: device });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const code = await smsCode(p.phone, 'register');
  r = await api('POST', '/api/v1/app/register/confirm', { handle: r.body.handle, code, password: PASSWORD, passcode: PASSCODE });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  if (!upgrade) return;
  r = await api('POST', '/api/v1/app/signin', { personal_id: p.personal_id, password: PASSWORD, device_id: device });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await api('POST', '/api/v1/app/upgrade', { passcode: PASSCODE, photo_base64: photo }, r.body.token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-oidc-node-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  // Every request of this test comes from 127.0.0.1: widen the per-source allowances (the
  // per-account and per-ID limits stay as they are).
  const cfg = join(dir, 'eid.toml');
  writeFileSync(cfg, '[limits]\nsource_secret_burst = 1000\nsource_secret_per_hour = 100000\nsource_sms_burst = 1000\nsource_sms_per_hour = 100000\n');
  server = spawn(bin, ['--config', cfg, '--db', db, '--listen', '127.0.0.1:0', 'demo', '--people', '3000', '--seed', '5', '--history-days', '0'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 180_000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  const ministry = out.split('\n').map((l) => l.match(/^(\S+)\s+ministry\s/)).find(Boolean);
  assert.ok(ministry, `credentials printed:\n${out}`);
  ministryToken = run('admin', 'issue-token', '--username', ministry[1], '--name', 'oidc node test').trim().split('\n').pop().trim();

  // The relying party: private_key_jwt with an ES256 key of its own, PAR required.
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  privateKey = pair.privateKey;
  const jwk = { ...(await crypto.subtle.exportKey('jwk', pair.publicKey)), kid: 'node-1', alg: 'ES256', use: 'sig' };
  delete jwk.key_ops; delete jwk.ext;
  writeFileSync(join(dir, 'rp.jwks'), JSON.stringify({ keys: [jwk] }));
  run('admin', 'client', 'add', '--client-id', 'node-rp', '--name-vi', 'Dịch vụ thử nghiệm', '--name-en', 'Test service',
    '--redirect-uri', CB, '--post-logout-uri', BYE, '--scopes', 'openid profile birthdate offline_access',
    '--acr', `${LOA1} ${LOA2}`, '--alg', 'ES256', '--auth-method', 'private_key_jwt',
    '--jwks-file', join(dir, 'rp.jwks'), '--require-par');

  // Two adults of the province with a phone and a card that allows the self-service upgrade.
  const found = [];
  for (const name of ['nguyen', 'tran', 'le', 'pham', 'hoang', 'phan', 'vu']) {
    const r = await api('GET', `/api/v1/persons?name=${name}&unit=62&limit=100`, undefined, ministryToken);
    if (r.status !== 200) continue;
    for (const p of r.body.persons) {
      const born = Number(p.birth_date.slice(0, 4));
      if (p.life_status.state === 'alive' && p.phone && p.card?.valid && p.card.issued >= '2022-04-01'
        && new Date().getFullYear() - born >= 18 && !found.some((f) => f.phone === p.phone)) found.push(p);
    }
    if (found.length >= 2) break;
  }
  assert.ok(found.length >= 2, 'two candidates');
  [people.one, people.two] = found;
  await account(people.one, false);
  await account(people.two, true);

  config = await client.discovery(new URL(base), 'node-rp', { id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt(privateKey, { kid: 'node-1' }), { execute: [client.allowInsecureRequests] });
});

after(() => {
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(b, person, { acr, passcode, fresh } = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: CB, scope: 'openid profile birthdate offline_access', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...(acr ? { acr_values: acr } : {}),
  };
  const url = await client.buildAuthorizationUrlWithPAR(config, params);
  assert.match(url.href, /request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A/);
  let at = url.href;
  if (fresh) {
    const r = await b.go(at);
    assert.equal(r.status, 303);
    const next = new URL(r.location, base).searchParams.get('next');
    const s = await signInNew(b, person, next, '1');
    assert.equal(s.status, 303, s.html);
    at = s.location;
  }
  const callback = await toCallback(b, at, { passcode });
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  return tokens;
}

test('discovery names the endpoints the client uses', () => {
  const m = config.serverMetadata();
  assert.equal(m.issuer, base);
  assert.equal(m.pushed_authorization_request_endpoint, `${base}/oauth2/par`);
  assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
  assert.ok(m.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
});

test('PAR, code, PKCE and private_key_jwt; the ID token validates; userinfo; refresh rotation and reuse; logout', async () => {
  const b = new Browser();
  const tokens = await signIn(b, people.one, { fresh: true });
  const claims = tokens.claims();
  assert.equal(claims.iss, base);
  assert.equal(claims.aud, 'node-rp');
  assert.equal(claims.acr, LOA1);
  assert.ok(claims.amr.includes('pwd'));
  assert.notEqual(claims.sub, people.one.personal_id);
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
  assert.equal(typeof info.name, 'string');
  assert.equal(info.birthdate.slice(0, 4), people.one.birth_date.slice(0, 4));
  assert.equal(info.vn_personal_id, undefined, 'not asked for');

  const second = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(second.refresh_token, tokens.refresh_token);
  assert.equal(second.claims().sub, claims.sub);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
  await assert.rejects(client.refreshTokenGrant(config, second.refresh_token), (e) => e.error === 'invalid_grant', 'the grant is revoked after a reuse');

  const out = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: BYE, state: 'bye-state' });
  const r = await b.go(out.href);
  assert.equal(r.status, 303);
  assert.equal(r.location, `${BYE}?state=bye-state`);
  const me = await b.go('/me');
  assert.equal(me.status, 303, 'signed out');
});

test('a level-2 request steps a level-1 session up with the passcode', async () => {
  const b = new Browser();
  const first = await signIn(b, people.two, { fresh: true });
  assert.equal(first.claims().acr, LOA1);
  const stepped = await signIn(b, people.two, { acr: LOA2, passcode: PASSCODE });
  const claims = stepped.claims();
  assert.equal(claims.acr, LOA2);
  assert.ok(claims.amr.includes('pin'), JSON.stringify(claims.amr));
  assert.equal(claims.sub, first.claims().sub);
});
