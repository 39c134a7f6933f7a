// Relying parties in a real browser: a real website — Apache with Debian's mod_auth_openidc on
// loopback (scripts/lib/apache.sh) protecting a page that prints the claims it was given — and
// the demo's own sample portal (/demo/portal). Chromium opens each, is sent to eid, signs a
// citizen in on eid's pages (password, the new browser's SMS code, consent) and lands back on
// the service, which shows the claims released: those of the scopes the service asked for and
// nothing else. `eid demo` runs on a temporary SQLite database and port 0; Apache is stopped
// when the test ends. Screenshots go to tests/browser/screenshots/rp-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const bin = process.env.EID_BIN ?? join(root, 'target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const PASSWORD = 'Mật-khẩu-Mạnh-2026';
let server, apache, browser, base, dir, db, ministryToken, apacheUrl;
/** Citizens with a level-1 account: { personalId, phone }. */
const citizens = [];

function eid(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout.trim(), err: r.stderr.trim() };
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** The latest code of `purpose` sent to `phone`, read from the development outbox. */
function smsCode(phone, purpose) {
  const r = eid(['client', 'code', '--server', base, '--token', ministryToken, '--phone', phone, '--purpose', purpose]);
  assert.ok(r.ok, r.err);
  return r.out.split('\n').pop().trim();
}

/** Level-1 accounts (with a password) for `n` adults of the demo province, as the app registers them. */
async function makeCitizens(n) {
  const thisYear = new Date().getFullYear();
  for (const name of ['nguyen', 'tran', 'le', 'pham', 'hoang', 'vu', 'dang']) {
    const res = await fetch(`${base}/api/v1/persons?name=${name}&limit=50`, { headers: { authorization: `Bearer ${ministryToken}` } });
    if (res.status !== 200) continue;
    for (const p of (await res.json()).persons) {
      if (citizens.length >= n) return;
      if (p.life_status.state !== 'alive' || !p.card?.valid || thisYear - Number(p.birth_date.slice(0, 4)) < 18) continue;
      const phone = `0912${String(600000 + citizens.length * 7).padStart(6, '0')}`;
      const reg = eid(['client', 'register', '--server', base, '--personal-id', p.personal_id, '--phone', phone, '--device-id', `rp-browser-${citizens.length}-0001`]);
      if (!reg.ok) continue;
      const handle = reg.out.split('\n').pop().trim();
      const code = eid(['client', 'code', '--server', base, '--token', ministryToken, '--phone', phone, '--purpose', 'register']);
      if (!code.ok) continue;
      const conf = eid(['client', 'confirm', '--server', base, '--handle', handle, '--code', code.out.split('\n').pop().trim(), '--password', PASSWORD, '--passcode', '246810']);
      assert.ok(conf.ok, conf.err);
      citizens.push({ personalId: p.personal_id, phone });
    }
  }
  assert.equal(citizens.length, n, 'enough adults registered at level 1');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-rp-apache-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  // Every request of the test comes from 127.0.0.1: the per-source allowances are widened (the
  // per-person and per-phone limits stay).
  const config = join(dir, 'eid.toml');
  writeFileSync(config, '[limits]\nsource_secret_burst = 100000\nsource_secret_per_hour = 1000000\nsource_sms_burst = 100000\nsource_sms_per_hour = 1000000\n');
  server = spawn(bin, ['--config', config, '--db', db, '--listen', '127.0.0.1:0', 'demo', '--people', '3000', '--seed', '8', '--history-days', '0'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 120_000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
      // stdout and stderr arrive in either order: wait for the address and the portal's line.
      if (m && /\/demo\/portal/.test(out)) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  assert.match(out, /\/demo\/portal/, 'the demo prints its portal');
  const username = out.match(/^(\S+)\s+ministry\s/m)?.[1];
  const issued = eid(['--db', db, 'admin', 'issue-token', '--username', username, '--name', 'rp browser test']);
  assert.ok(issued.ok, issued.err);
  ministryToken = issued.out.split('\n').pop().trim();
  await makeCitizens(2);

  // Apache: its port first (the redirect URI is registered exactly), then the client, then the
  // server, in a bash that stops it (apache_stop, its EXIT trap) when its stdin closes.
  const port = await freePort();
  apacheUrl = `http://127.0.0.1:${port}`;
  const add = eid(['--db', db, 'admin', 'client', 'add', '--client-id', 'apache-rp', '--name-vi', 'Trang thử nghiệm Apache', '--name-en', 'Apache test site',
    '--redirect-uri', `${apacheUrl}/protected/redirect_uri`, '--scopes', 'openid profile birthdate', '--alg', 'RS256']);
  assert.ok(add.ok, add.err);
  const secret = add.out.match(/^client_secret: (\S+)$/m)[1];
  apache = spawn('bash', ['-c', `source "${root}/scripts/lib/apache.sh" && APACHE_PORT=${port} apache_start "${base}" apache-rp "${secret}" "openid profile birthdate" && echo APACHE-READY && read _`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let aout = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`apache did not start:\n${aout}`)), 300_000);
    const onData = (chunk) => { aout += chunk.toString(); if (aout.includes('APACHE-READY')) { clearTimeout(timer); resolve(); } };
    apache.stdout.on('data', onData);
    apache.stderr.on('data', onData);
    apache.on('exit', (code) => reject(new Error(`apache exited with ${code}:\n${aout}`)));
  });

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (apache && apache.exitCode === null) {
    const gone = new Promise((resolve) => apache.on('exit', resolve));
    apache.stdin.end();
    await gone;
  }
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** On eid's pages: password, the new browser's SMS code, then consent ("allow"). */
async function signInOnEid(page, who, shot) {
  await page.waitForURL(/\/me\/signin/);
  assert.ok(page.url().startsWith(base), `sent to eid: ${page.url()}`);
  await page.fill('input[name=personal_id]', who.personalId);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  if (await page.locator('input[name=code]').count()) {
    await page.fill('input[name=code]', smsCode(who.phone, 'device'));
    await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  }
  await page.locator('button[name=decision][value=allow]').waitFor();
  await page.screenshot({ path: join(shots, shot), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('button[name=decision][value=allow]')]);
}

const PERSONAL = ['name', 'family_name', 'given_name', 'middle_name', 'birthdate', 'gender', 'address', 'phone_number', 'phone_number_verified', 'vn_personal_id'];

test('Apache with mod_auth_openidc signs a citizen in through eid and receives only the claims of its scopes', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${apacheUrl}/protected/claims`);
  await signInOnEid(page, citizens[0], 'rp-apache-consent.png');
  await page.waitForURL(`${apacheUrl}/protected/**`);
  const text = await page.textContent('#claims');
  await page.screenshot({ path: join(shots, 'rp-apache-claims.png'), fullPage: true });
  const claims = Object.fromEntries(text.trim().split('\n').map((l) => { const i = l.indexOf('='); return [l.slice(0, i), l.slice(i + 1)]; }));
  assert.ok(claims.sub, `a sub: ${text}`);
  assert.equal(claims.iss, base);
  assert.equal(claims.aud, 'apache-rp');
  assert.ok(claims.name && claims.birthdate, `profile and birthdate released: ${text}`);
  const personal = Object.keys(claims).filter((k) => PERSONAL.includes(k));
  for (const k of personal) assert.ok(['name', 'family_name', 'given_name', 'middle_name', 'birthdate'].includes(k), `${k} was not asked for`);
  assert.ok(!text.includes(citizens[0].personalId), 'the personal ID is not released without its scope');
  await page.close();
});

test('the demo portal\'s "Đăng nhập bằng eID" runs a real sign-in and shows what was released', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${base}/demo/portal`);
  assert.match(await page.textContent('h1'), /Đăng nhập để nộp hồ sơ trực tuyến/);
  await page.screenshot({ path: join(shots, 'rp-portal.png'), fullPage: true });
  await page.click('#eid-login');
  await signInOnEid(page, citizens[1], 'rp-portal-consent.png');
  await page.waitForURL(`${base}/demo/portal/callback**`);
  assert.match(await page.textContent('h1'), /Đăng nhập thành công/);
  const names = await page.locator('#claims tr[data-claim]').evaluateAll((rows) => rows.map((r) => r.dataset.claim));
  await page.screenshot({ path: join(shots, 'rp-portal-claims.png'), fullPage: true });
  for (const k of ['sub', 'name', 'birthdate', 'gender', 'address', 'acr']) assert.ok(names.includes(k), `${k} shown: ${names}`);
  for (const k of ['phone_number', 'vn_personal_id']) assert.ok(!names.includes(k), `${k} was not asked for`);
  await page.close();
});
