// The citizen's own pages (/me) in a real browser: Debian's chromium driven by playwright-core.
// Starts `eid demo` (development mode, no history) on a temporary SQLite database and port 0,
// issues an API token for the ministry officer (who reads the development SMS outbox and the
// person search), then a citizen registers on the pages with a portrait from the file input,
// confirms the SMS code, signs in, upgrades to level 2, signs in again asking for level 2 (the
// passcode step-up), and locks the account and sees the lock — at 390 px (no horizontal scroll)
// and at 1280 px. Vietnamese pages carry no English. Screenshots: tests/browser/screenshots/me-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const PASSWORD = 'Mật-khẩu-Mạnh-2026';
const PASSCODE = '135790';

let server, browser, base, dir, db, ministryToken;
const accounts = {};
/** Adults of the demo commune with a phone and a card issued from 2022-04-01. */
const people = [];

async function api(method, path, body, bearer = ministryToken) {
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

/** The newest code sent to `phone` (national form) for `purpose`, from the development outbox. */
async function smsCode(phone, purpose) {
  for (let i = 0; i < 100; i += 1) {
    const sms = await api('GET', '/api/v1/sms?limit=200');
    const msg = sms.body.messages.find((m) => m.purpose === purpose && m.to.endsWith(phone.replace(/^0/, '')));
    const code = msg?.body.match(/\b(\d{6})\b/)?.[1];
    if (code) return code;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${purpose} code for the phone`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-me-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  // One browser from one address walks every form: the per-source limits (4 secret checks at
  // once, 3 SMS) would stop it half-way, as they should stop a real single address.
  const config = join(dir, 'eid.toml');
  writeFileSync(config, '[limits]\nsource_secret_burst = 1000\nsource_secret_per_hour = 100000\nsource_sms_burst = 1000\nsource_sms_per_hour = 100000\n');
  server = spawn(bin, ['--config', config, '--db', db, '--listen', '127.0.0.1:0', 'demo', '--people', '4000', '--seed', '17', '--history-days', '0'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 120_000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  for (const line of out.split('\n')) {
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+.*\s(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], password: m[3] };
  }
  assert.ok(accounts.ministry && accounts.commune, `credentials printed:\n${out}`);
  const issued = spawnSync(bin, ['--db', db, 'admin', 'issue-token', '--username', accounts.ministry.username, '--name', 'browser test citizen'], { encoding: 'utf8' });
  assert.equal(issued.status, 0, issued.stderr);
  ministryToken = issued.stdout.trim().split('\n').pop().trim();

  const commune = accounts.commune.username.split('.').pop();
  const thisYear = new Date().getFullYear();
  for (const name of ['nguyen', 'tran', 'le', 'pham', 'hoang', 'vu', 'dang']) {
    const r = await api('GET', `/api/v1/persons?name=${name}&unit=${commune}&limit=50`);
    if (r.status !== 200) continue;
    for (const p of r.body.persons) {
      const born = Number(p.birth_date.slice(0, 4));
      if (p.life_status.state === 'alive' && p.card?.valid && p.card.issued >= '2022-04-01' && p.phone
          && thisYear - born >= 16 && !people.some((q) => q.personal_id === p.personal_id)) people.push(p);
    }
  }
  assert.ok(people.length >= 2, `two eligible people in the commune (found ${people.length})`);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** English words that must not show on a Vietnamese page. */
const ENGLISH = /\b(Sign in|Sign out|Password|password|Passcode|passcode|Account|account|Level|level|Locked|locked|Register|Phone|Devices|History|Children|Upgrade|Unlock|Confirm|Verify)\b/;

async function checkPage(page, name, mobile) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, ENGLISH, `${name}: English on a Vietnamese page:\n${text}`);
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  if (mobile) {
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `${name}: horizontal scroll at 390 px (${scroll} > ${client})`);
  }
  await page.screenshot({ path: join(shots, `me-${name}.png`), fullPage: true });
}

async function submit(page, selector = 'main form.me-form button[type=submit]') {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

/** Registers, signs in, upgrades, steps up and locks, in one browser context of `width`. */
async function walk(person, width, tag) {
  const mobile = width < 500;
  const context = await browser.newContext({ viewport: { width, height: mobile ? 844 : 900 }, isMobile: mobile, hasTouch: mobile, locale: 'vi-VN' });
  const page = await context.newPage();
  const photo = { name: 'chan-dung.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(`eid-dev-portrait:${person.personal_id}`) };

  // Register level 1 with a portrait from the camera input.
  await page.goto(base + '/me/register');
  assert.equal(await page.getAttribute('input[type=file]', 'capture'), 'user');
  await checkPage(page, `${tag}-register`, mobile);
  await page.fill('input[name=personal_id]', person.personal_id);
  await page.fill('input[name=phone]', person.phone);
  await page.setInputFiles('input[type=file]', photo);
  await submit(page);
  assert.match(await page.textContent('h1'), /Xác nhận đăng ký/);
  await page.fill('input[name=code]', await smsCode(person.phone, 'register'));
  await page.fill('input[name=password]', PASSWORD);
  await page.fill('input[name=passcode]', PASSCODE);
  await checkPage(page, `${tag}-confirm`, mobile);
  await submit(page);
  assert.match(page.url(), /\/me\/signin\?done=registered$/);
  assert.match(await page.textContent('main'), /Đã tạo tài khoản/);

  // Sign in: this browser registered the account, so it is the bound device (no code).
  await page.fill('input[name=personal_id]', person.personal_id);
  await page.fill('input[name=password]', PASSWORD);
  await checkPage(page, `${tag}-signin`, mobile);
  await submit(page);
  assert.match(page.url(), /\/me$/);
  assert.match(await page.textContent('main'), /Mức 1/);
  await checkPage(page, `${tag}-home-level1`, mobile);

  // Self-service upgrade (the card was issued from 2022-04-01).
  await page.click('a[href="/me/upgrade"]');
  await page.waitForURL(/\/me\/upgrade$/);
  await page.setInputFiles('input[type=file]', photo);
  await page.fill('input[name=passcode]', PASSCODE);
  await checkPage(page, `${tag}-upgrade`, mobile);
  await submit(page);
  assert.match(page.url(), /\/me\?done=upgraded$/);
  assert.match(await page.textContent('main'), /Mức 2/);

  // Sign out, then sign in asking for level 2: the passcode page follows the password.
  await submit(page, 'nav.me-nav button[type=submit]');
  assert.match(page.url(), /\/me\/signin$/);
  await page.goto(base + '/me/signin?next=%2Fme%2Fevents&acr=2&fresh=0');
  await page.fill('input[name=personal_id]', person.personal_id);
  await page.fill('input[name=password]', PASSWORD);
  await submit(page);
  assert.match(page.url(), /\/me\/signin\/passcode\?/);
  await page.fill('input[name=passcode]', PASSCODE);
  await checkPage(page, `${tag}-passcode`, mobile);
  await submit(page);
  assert.match(page.url(), /\/me\/events$/);
  assert.match(await page.textContent('main'), /Nâng cấp|Kích hoạt tài khoản mức 1/);
  await checkPage(page, `${tag}-events`, mobile);
  await page.goto(base + '/me');
  assert.match(await page.textContent('main'), /mã khóa \(mức 2\)/);
  await checkPage(page, `${tag}-home-level2`, mobile);

  // Lock it myself and see the lock.
  await page.click('nav.me-nav a[href="/me/locks"]');
  await page.waitForURL(/\/me\/locks$/);
  await checkPage(page, `${tag}-locks`, mobile);
  await page.fill('form[action="/me/locks"] input[name=passcode]', PASSCODE);
  await submit(page, 'form[action="/me/locks"] button[type=submit]');
  const locked = await page.textContent('main');
  assert.match(locked, /Đã khóa tài khoản/);
  assert.match(locked, /Bạn đã tự khóa tài khoản/);
  assert.equal(await page.locator('form[action="/me/unlock"]').count(), 1);
  await checkPage(page, `${tag}-locked`, mobile);

  // Signed out with the lock; signing in again gets the refusal page with what to do.
  await page.goto(base + '/me');
  assert.match(page.url(), /\/me\/signin/);
  await page.fill('input[name=personal_id]', person.personal_id);
  await page.fill('input[name=password]', PASSWORD);
  await submit(page);
  const refusal = await page.textContent('main');
  assert.match(refusal, /Tài khoản đang bị khóa/);
  assert.match(refusal, /1900 0368/);
  await checkPage(page, `${tag}-refused-locked`, mobile);
  await context.close();
}

test('a citizen registers, signs in, steps up and locks the account on a 390 px phone', async () => {
  await walk(people[0], 390, 'phone');
});

test('the same on a 1280 px screen', async () => {
  await walk(people[1], 1280, 'desktop');
});

test('the pages switch to English and back', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(base + '/me/signin');
  assert.match(await page.textContent('h1'), /Đăng nhập/);
  await page.click('a[href^="/lang/en"]');
  await page.waitForURL(/\/me\/signin/);
  assert.match(await page.textContent('h1'), /Sign in/);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.screenshot({ path: join(shots, 'me-phone-signin-en.png'), fullPage: true });
  await page.click('a[href^="/lang/vi"]');
  await page.waitForURL(/\/me\/signin/);
  assert.match(await page.textContent('h1'), /Đăng nhập/);
  await context.close();
});
