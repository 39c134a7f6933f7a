// Trust (issue 15) in a real browser: Debian's chromium driven by playwright-core. Starts
// `eid demo` (development mode, no history) on a temporary SQLite database and port 0. A citizen
// registers on the pages; the commune officer opens the person's record in the console; on a
// 390 px phone the citizen sees that lookup on /me/data-use ("included in checkpoint N"), reports
// it; the auditor sees the case in the console and answers; the citizen sees the answer. The
// commune officer makes a code on /trust/officer-code and a signed-out citizen checks it on
// /me/verify-officer (and a wrong one). Vietnamese pages carry no English; no horizontal scroll at
// 390 px. Screenshots: tests/browser/screenshots/trust-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  adult, apiOf, bin, communePeople, issueToken, launchChromium, shots, smsCode as smsCodeOf, startDemo, stopDemo,
} from './lib/demo.mjs';

const PASSWORD = 'Mật-khẩu-Mạnh-2026';
const PASSCODE = '135790';

let demo, server, browser, base, dir, db, ministryToken, demoOut = '', api, readyAt;
const accounts = {};
let person;
const smsCode = (phone, purpose) => smsCodeOf(api, phone, purpose);

before(async () => {
  demo = await startDemo({
    label: 'trust',
    demoArgs: ['--people', '4000', '--seed', '17', '--history-days', '0'],
    ready: /trust: officer code/,
  });
  ({ server, base, dir, db, out: demoOut } = demo);
  readyAt = Date.now();
  Object.assign(accounts, demo.accounts);
  assert.ok(accounts.auditor, `credentials printed:\n${demoOut}`);
  ministryToken = issueToken(demo, accounts.ministry.username, 'browser test trust');
  api = apiOf(demo, ministryToken);
  const commune = accounts.commune.username.split('.').pop();
  [person] = await communePeople(api, commune, adult(16));
  assert.ok(person, 'an adult of the demo commune with a phone');
  browser = await launchChromium();
});

after(() => stopDemo(demo, browser));

const ENGLISH = /\b(Sign in|Sign out|Password|password|Passcode|passcode|Account|account|Report|report|Officer|officer|Valid|valid|Checkpoint|checkpoint|Purpose|Who used)\b/;

async function checkPage(page, name, mobile) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, ENGLISH, `${name}: English on a Vietnamese page:\n${text}`);
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  if (mobile) {
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `${name}: horizontal scroll at 390 px (${scroll} > ${client})`);
  }
  await page.screenshot({ path: join(shots, `trust-${name}.png`), fullPage: true });
}

async function submit(page, selector = 'main form.me-form button[type=submit]') {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function consoleSignIn(context, role) {
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.fill('input[name=username]', accounts[role].username);
  await page.fill('input[name=password]', accounts[role].password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return page;
}

test('the demo printed an officer code and where to look', () => {
  assert.match(demoOut, /trust: officer code [A-Z2-9]{8} /);
  assert.match(demoOut, /trust: the demo citizen's "who used my data" at http/);
});

test('a citizen sees an officer lookup on a 390 px phone, reports it, and reads the auditor\'s answer', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'vi-VN' });
  const me = await phone.newPage();
  const photo = { name: 'chan-dung.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(`eid-dev-portrait:${person.personal_id}`) };
  await me.goto(base + '/me/register');
  await me.fill('input[name=personal_id]', person.personal_id);
  await me.fill('input[name=phone]', person.phone);
  await me.setInputFiles('input[type=file]', photo);
  await submit(me);
  await me.fill('input[name=code]', await smsCode(person.phone, 'register'));
  await me.fill('input[name=password]', PASSWORD);
  await me.fill('input[name=passcode]', PASSCODE);
  await submit(me);
  await me.fill('input[name=personal_id]', person.personal_id);
  await me.fill('input[name=password]', PASSWORD);
  await submit(me);
  assert.match(me.url(), /\/me$/);

  // The commune officer opens the person's record in the console.
  const office = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const officer = await consoleSignIn(office, 'commune');
  const r = await officer.goto(`${base}/persons/${person.personal_id}`);
  assert.equal(r.status(), 200);

  // The citizen's page shows it, included in a signed checkpoint.
  // The demo signed a checkpoint as it started; a citizen's own new entry gets one at least
  // 5 s after the last (a minute for everyone else).
  await new Promise((r) => setTimeout(r, Math.max(0, readyAt + 6000 - Date.now())));
  await me.click('nav.me-nav a[href="/me/data-use"]');
  await me.waitForURL(/\/me\/data-use$/);
  const list = await me.textContent('#data-use');
  assert.match(list, /Cán bộ cấp xã/);
  assert.match(list, /Tra cứu hồ sơ dân cư/);
  assert.match(list, /Có trong mốc [\d.]+ ✓/);
  assert.doesNotMatch(list, new RegExp(accounts.commune.username.replace('.', '\\.')));
  await checkPage(me, 'phone-data-use', true);
  await me.click('#data-use li:first-child summary');
  await me.fill('#data-use li:first-child textarea[name=note]', 'Tôi không làm thủ tục nào hôm nay');
  await checkPage(me, 'phone-report-form', true);
  await submit(me, '#data-use li:first-child form button[type=submit]');
  assert.match(await me.textContent('main'), /Đã gửi báo cáo/);
  assert.match(await me.textContent('#data-use'), /Đang xử lý/);

  // The auditor answers in the console.
  const audit = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const auditor = await consoleSignIn(audit, 'auditor');
  await auditor.click('a[href="/trust/reports"]');
  await auditor.waitForURL(/\/trust\/reports$/);
  assert.match(await auditor.textContent('main'), /Tôi không làm thủ tục nào hôm nay/);
  await auditor.selectOption('select[name=outcome]', 'misuse');
  await auditor.fill('textarea[name=message]', 'Cán bộ tra cứu không có lý do; đã nhắc nhở.');
  await auditor.screenshot({ path: join(shots, 'trust-auditor-queue.png'), fullPage: true });
  await Promise.all([auditor.waitForNavigation(), auditor.click('main form button[type=submit]')]);
  assert.match(await auditor.textContent('main'), /Đã trả lời/);

  await me.reload();
  const answered = await me.textContent('#data-use');
  assert.match(answered, /Sử dụng sai, đã xử lý/);
  assert.match(answered, /đã nhắc nhở/);
  await checkPage(me, 'phone-answered', true);
  await phone.close();
  await office.close();
  await audit.close();
});

test('a signed-out citizen checks an officer\'s code at 390 px', async () => {
  const office = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const officer = await consoleSignIn(office, 'commune');
  await officer.goto(base + '/trust/officer-code');
  await Promise.all([officer.waitForNavigation(), officer.click('main form button[type=submit]')]);
  const code = (await officer.textContent('#officer-code')).trim();
  assert.match(code, /^[A-Z2-9]{8}$/);
  assert.equal(await officer.locator('.qr svg').count(), 1);
  await officer.screenshot({ path: join(shots, 'trust-officer-code.png'), fullPage: true });

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'vi-VN' });
  const page = await phone.newPage();
  await page.goto(base + '/me/verify-officer');
  await page.fill('input[name=code]', code.toLowerCase());
  await checkPage(page, 'phone-verify-officer', true);
  await submit(page);
  assert.match(await page.textContent('#officer-result'), /Mã hợp lệ: cán bộ của .+, đang làm nhiệm vụ/);
  await checkPage(page, 'phone-officer-valid', true);
  await page.fill('input[name=code]', 'ABCD2345');
  await page.fill('input[name=unit]', accounts.commune.username.split('.').pop());
  await submit(page);
  assert.match(await page.textContent('#officer-result'), /Mã không hợp lệ/);
  await checkPage(page, 'phone-officer-invalid', true);
  await phone.close();

  await officer.goto(base + '/trust/officer-code');
  assert.equal(await officer.locator('#scam-figures').count(), 1);
  await office.close();
});

test('eid audit verify passes over the log the pages wrote', () => {
  const r = spawnSync(bin, ['--db', db, 'audit', 'verify'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /data-use log verified: [1-9]\d* entries, [1-9]\d* checkpoints/);
});
