// Stay notifications in a real browser (Debian's chromium driven by playwright-core), at 390 px
// and at 1280 px. `eid demo --clock-at 2026-12-03T23:30:00+07:00` (development only) starts the
// server's clock at 23:30 Vietnam time; the demo seeds a hotel, a hospital and a household in
// the commune officer's commune with the demo citizen as their notifier. The demo citizen signs
// in on a new browser (password, then the code sent to the bound phone, read from the
// development outbox), opens the hotel, notifies two guests of the register — one who arrived at
// 20:00 (before 23:00: due at 23:00, so late) and one who arrived at 23:15 (due 08:00 the next
// day, on time) — and sees one late and one on-time notification. Then the commune officer sees
// the hotel's guests in the console. Vietnamese pages carry no English; no horizontal scroll at
// 390 px. Screenshots: tests/browser/screenshots/stay-*.png.
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

const AT = '2026-12-03T23:30:00+07:00';
let server, browser, base, dir, db, ministryToken, citizen, password;
const accounts = {};
const guests = [];

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

async function smsCode(phone, purpose, after = new Set()) {
  for (let i = 0; i < 100; i += 1) {
    const sms = await api('GET', '/api/v1/sms?limit=200');
    const msg = sms.body.messages.find((m) => m.purpose === purpose && m.to.endsWith(phone.replace(/^0/, '')) && !after.has(m.body));
    const code = msg?.body.match(/\b(\d{6})\b/)?.[1];
    if (code) { after.add(msg.body); return code; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${purpose} code for the phone`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-stay-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  const config = join(dir, 'eid.toml');
  writeFileSync(config, '[limits]\nsource_secret_burst = 1000\nsource_secret_per_hour = 100000\nsource_sms_burst = 1000\nsource_sms_per_hour = 100000\n');
  server = spawn(bin, ['--config', config, '--db', db, '--listen', '127.0.0.1:0', '--clock-at', AT, 'demo', '--people', '3000', '--seed', '23', '--history-days', '3'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 180_000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && /citizen pages: open/.test(out) && /^stays: /m.test(out)) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  for (const line of out.split('\n')) {
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+.*\s(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], password: m[3] };
  }
  const c = out.match(/as personal ID (\d{12}) \(level \d\), password (\S+),/);
  assert.ok(c && accounts.ministry && accounts.commune, `credentials printed:\n${out}`);
  [, citizen, password] = c;
  const issued = spawnSync(bin, ['--db', db, 'admin', 'issue-token', '--username', accounts.ministry.username, '--name', 'browser test stays'], { encoding: 'utf8' });
  assert.equal(issued.status, 0, issued.stderr);
  ministryToken = issued.stdout.trim().split('\n').pop().trim();
  const commune = accounts.commune.username.split('.').pop();
  for (const name of ['nguyen', 'tran', 'le', 'pham', 'hoang']) {
    const r = await api('GET', `/api/v1/persons?name=${name}&unit=${commune}&limit=50`);
    if (r.status !== 200) continue;
    for (const p of r.body.persons) {
      if (p.life_status.state === 'alive' && /^\d{4}-\d{2}-\d{2}$/.test(p.birth_date) && p.personal_id !== citizen
          && !guests.some((q) => q.personal_id === p.personal_id)) guests.push(p);
    }
  }
  assert.ok(guests.length >= 4, `four people of the commune to be guests (found ${guests.length})`);
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

const ENGLISH = /\b(Sign in|Sign out|Password|Guest|Arrival|Departure|Reason|Notify|Late|late|Establishment|Stays?)\b/;

async function checkPage(page, name, mobile) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, ENGLISH, `${name}: English on a Vietnamese page:\n${text}`);
  if (mobile) {
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `${name}: horizontal scroll at 390 px (${scroll} > ${client})`);
  }
  await page.screenshot({ path: join(shots, `stay-${name}.png`), fullPage: true });
}

const fullName = (p) => p.name.full;
const ddmmyyyy = (iso) => iso.split('-').reverse().join('/');
const seen = new Set();

async function hostNotifiesTwo(width, tag, g1, g2) {
  const mobile = width < 500;
  const context = await browser.newContext({ viewport: { width, height: mobile ? 844 : 900 }, isMobile: mobile, hasTouch: mobile, locale: 'vi-VN' });
  const page = await context.newPage();
  const me = (await api('GET', `/api/v1/persons/${citizen}`)).body;
  await page.goto(base + '/me/signin?next=%2Fme%2Fstays');
  await page.fill('input[name=personal_id]', citizen);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  const code = await smsCode(me.phone, 'device', seen);
  await page.fill('input[name=code]', code);
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  await page.goto(base + '/me/stays');
  await checkPage(page, `${tag}-list`, mobile);
  const hotel = page.locator('li[data-establishment]', { hasText: 'Khách sạn Hoa Sen' });
  await Promise.all([page.waitForNavigation(), hotel.locator('a', { hasText: 'Thông báo lưu trú' }).first().click()]);
  assert.match(await page.textContent('main'), /trước 23 giờ/);
  const fill = async (i, p, arrival, departure, reason) => {
    await page.fill(`input[name="g${i}.personal_id"]`, p.personal_id);
    await page.fill(`input[name="g${i}.full_name"]`, fullName(p));
    await page.fill(`input[name="g${i}.birth_date"]`, ddmmyyyy(p.birth_date));
    await page.fill(`input[name="g${i}.arrival"]`, arrival);
    await page.fill(`input[name="g${i}.departure"]`, departure);
    await page.fill(`input[name="g${i}.reason"]`, reason);
  };
  await fill(0, g1, '2026-12-03T20:00', '2026-12-05T10:00', 'Du lịch');
  await fill(1, g2, '2026-12-03T23:15', '2026-12-04T12:00', 'Công tác');
  await checkPage(page, `${tag}-form`, mobile);
  await Promise.all([page.waitForNavigation(), page.click('main form.me-form button[type=submit]')]);
  assert.match(new URL(page.url()).search, /done=2&late=1/, await page.textContent('main'));
  const text = await page.textContent('main');
  assert.match(text, /Đã thông báo lưu trú cho số khách: 2/);
  const sent = page.locator('ul.stay-sent > li');
  const first = await sent.nth(0).textContent();
  const second = await sent.nth(1).textContent();
  // Newest first: both were notified at 23:30; each says whether it was late.
  const both = [first, second].join('\n');
  assert.match(both, new RegExp(`Đến lúc: 03/12/2026 20:00 · Hạn thông báo: 03/12/2026 23:00[\\s\\S]*Muộn`));
  assert.match(both, /Đến lúc: 03\/12\/2026 23:15 · Hạn thông báo: 04\/12\/2026 08:00[\s\S]*Đúng hạn/);
  assert.equal(await page.locator('ul.stay-sent .stay-late').count() >= 1, true);
  await checkPage(page, `${tag}-done`, mobile);
  await context.close();
}

async function officerSees(width, tag, g1) {
  const mobile = width < 500;
  const context = await browser.newContext({ viewport: { width, height: mobile ? 844 : 900 }, isMobile: mobile, hasTouch: mobile, locale: 'vi-VN' });
  const page = await context.newPage();
  await page.goto(base + '/login');
  await page.fill('input[name=username]', accounts.commune.username);
  await page.fill('input[name=password]', accounts.commune.password);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  await page.goto(base + '/stays');
  assert.match(await page.textContent('main'), /Khách sạn Hoa Sen/);
  await page.screenshot({ path: join(shots, `stay-${tag}-console.png`), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('a:has-text("Khách sạn Hoa Sen")')]);
  assert.match(await page.textContent('main'), new RegExp(g1.personal_id));
  await page.screenshot({ path: join(shots, `stay-${tag}-hotel.png`), fullPage: true });
  await context.close();
}

test('at 390 px a host notifies two guests, one before and one after 23:00', async () => {
  await hostNotifiesTwo(390, 'phone', guests[0], guests[1]);
  await officerSees(390, 'phone', guests[0]);
});

test('at 1280 px a host notifies two guests, one before and one after 23:00', async () => {
  await hostNotifiesTwo(1280, 'desktop', guests[2], guests[3]);
  await officerSees(1280, 'desktop', guests[2]);
});
