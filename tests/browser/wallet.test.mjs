// The wallet (issue 15) in a real browser at 390 px: Debian's chromium driven by playwright-core.
// Starts `eid demo` (its wallet sector files: health insurance, driving licences, vehicles), a
// citizen registers and upgrades to level 2 on the pages, integrates the health-insurance card,
// shows a QR disclosing two attributes (name and health-insurance number); the verifier desk
// page (/verify) loads the keys and the status list, then the server's origin is cut off
// (route abort) and the desk accepts the QR offline, says "seen on this desk before" the second
// time, and refuses it as expired a minute later (the page's clock); then a bank, registered as a
// client, checks a second QR online with its client credentials and the citizen finds the bank's
// read on "who used my data". Vietnamese pages carry no English. Screenshots: tests/browser/screenshots/wallet-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  adult, apiOf, bin, communePeople, issueToken, launchChromium, shots, smsCode as smsCodeOf, startDemo, stopDemo,
} from './lib/demo.mjs';

const PASSWORD = 'Mật-khẩu-Mạnh-2026';
const PASSCODE = '135790';

let demo, server, browser, base, dir, db, ministryToken, out, api;
const accounts = {};
let person;
const smsCode = (phone, purpose) => smsCodeOf(api, phone, purpose);

before(async () => {
  demo = await startDemo({
    label: 'wallet',
    demoArgs: ['--people', '2500', '--seed', '17', '--history-days', '0'],
    timeoutMs: 180_000,
  });
  ({ server, base, dir, db, out } = demo);
  assert.match(out, /wallet: sector files for \d+ persons/);
  assert.match(out, /\/me\/wallet .*\/verify/);
  Object.assign(accounts, demo.accounts);
  ministryToken = issueToken(demo, accounts.ministry.username, 'browser test wallet');
  api = apiOf(demo, ministryToken);
  const commune = accounts.commune.username.split('.').pop();
  [person] = await communePeople(api, commune, adult(20, '2022-04-01'));
  assert.ok(person, 'an eligible adult in the commune');
  browser = await launchChromium();
});

after(() => stopDemo(demo, browser));

const ENGLISH = /\b(Sign in|Sign out|Password|password|Passcode|passcode|Account|account|Wallet|Integrate|Expires|Valid|Verify|Check|Source|Purpose)\b/;

async function checkPage(page, name) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, ENGLISH, `${name}: English on a Vietnamese page:\n${text}`);
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scroll <= client, `${name}: horizontal scroll at 390 px (${scroll} > ${client})`);
  await page.screenshot({ path: join(shots, `wallet-${name}.png`), fullPage: true });
}

async function submit(page, selector = 'main form.me-form button[type=submit]') {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

test('a citizen integrates a health card, shows a QR of two attributes, and a desk checks it offline at 390 px', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'vi-VN' });
  const page = await context.newPage();
  const photo = { name: 'chan-dung.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(`eid-dev-portrait:${person.personal_id}`) };

  // Register, sign in, upgrade to level 2 (as the citizen pages' own test does).
  await page.goto(base + '/me/register');
  await page.fill('input[name=personal_id]', person.personal_id);
  await page.fill('input[name=phone]', person.phone);
  await page.setInputFiles('input[type=file]', photo);
  await submit(page);
  await page.fill('input[name=code]', await smsCode(person.phone, 'register'));
  await page.fill('input[name=password]', PASSWORD);
  await page.fill('input[name=passcode]', PASSCODE);
  await submit(page);
  await page.fill('input[name=personal_id]', person.personal_id);
  await page.fill('input[name=password]', PASSWORD);
  await submit(page);
  await page.click('a[href="/me/upgrade"]');
  await page.waitForURL(/\/me\/upgrade$/);
  await page.setInputFiles('input[type=file]', photo);
  await page.fill('input[name=passcode]', PASSCODE);
  await submit(page);
  assert.match(await page.textContent('main'), /Mức 2/);

  // The wallet asks for level 2 in this session: the passcode step if not reached yet.
  await page.click('nav.me-nav a[href="/me/wallet"]');
  await page.waitForLoadState();
  if (/\/me\/signin\/passcode/.test(page.url())) {
    await page.fill('input[name=passcode]', PASSCODE);
    await submit(page);
  }
  assert.match(page.url(), /\/me\/wallet$/);
  const wallet = await page.textContent('main');
  assert.match(wallet, /Thẻ Căn cước điện tử/);
  assert.ok(wallet.includes(person.personal_id), 'the identity card shows the personal ID');
  assert.equal(await page.locator('input[name=attr][value=hi]').isDisabled(), true, 'no health card yet');
  await checkPage(page, 'home');

  // Integrate the health-insurance card: the demo's file matched this person.
  await submit(page, 'li[data-kind=health_insurance] button[type=submit]');
  assert.match(page.url(), /\/me\/wallet\/doc\/health_insurance$/);
  const doc = await page.textContent('main');
  assert.match(doc, /Đã tích hợp/);
  assert.match(doc, /Số thẻ\s*GD479\d{10}/);
  assert.match(doc, /bhyt-demo/);
  assert.match(doc, /Ngày đối chiếu/);
  await checkPage(page, 'health-card');
  const cardNumber = doc.match(/GD479\d{10}/)[0];

  // A QR with name and health-insurance number only.
  await page.goto(base + '/me/wallet');
  await page.selectOption('select[name=purpose]', 'health');
  await page.check('input[name=attr][value=name]');
  await page.check('input[name=attr][value=hi]');
  await submit(page, 'form[action="/me/wallet/present"] button[type=submit]');
  assert.equal(await page.locator('.w-qrbox svg').count(), 1);
  const qr = await page.inputValue('#qr-text');
  assert.match(qr, /^EID1:/);
  assert.match(await page.textContent('main'), /Họ và tên, Số thẻ bảo hiểm y tế/);
  await checkPage(page, 'qr');

  // The desk: loads keys and list, then the server's origin is cut off.
  const desk = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'vi-VN' });
  const dp = await desk.newPage();
  await dp.clock.install();
  await dp.goto(base + '/verify');
  await dp.waitForSelector('#v-state[data-ready="1"]');
  let blocked = 0;
  await desk.route(`${base}/**`, (route) => { blocked += 1; return route.abort(); });
  await dp.fill('#v-text', qr);
  await dp.click('#v-check');
  await dp.waitForSelector('#v-verdict');
  assert.equal(await dp.getAttribute('#v-verdict', 'data-verdict'), 'ok');
  const shown = await dp.textContent('#v-result');
  assert.match(shown, /Hợp lệ/);
  assert.ok(shown.includes(cardNumber), 'the health-insurance number is shown');
  assert.equal(await dp.locator('#v-result dd[data-claim=name]').count(), 1);
  assert.equal(await dp.locator('#v-result dd[data-claim=pid]').count(), 0, 'the personal ID was not disclosed');
  assert.equal(await dp.locator('#v-result dd[data-claim=birth]').count(), 0);
  await checkPage(dp, 'desk-ok');

  // Again: seen on this desk before.
  await dp.click('#v-check');
  await dp.waitForSelector('#v-seen');
  // A tampered code is refused.
  const tampered = qr.slice(0, 40) + (qr[40] === 'A' ? 'B' : 'A') + qr.slice(41);
  await dp.fill('#v-text', tampered);
  await dp.click('#v-check');
  await dp.waitForFunction(() => document.querySelector('#v-verdict')?.dataset.verdict !== 'ok');
  assert.notEqual(await dp.getAttribute('#v-verdict', 'data-verdict'), 'ok');

  // A minute later: expired.
  await dp.clock.fastForward('01:01');
  await dp.fill('#v-text', qr);
  await dp.click('#v-check');
  await dp.waitForFunction(() => document.querySelector('#v-verdict')?.dataset.verdict === 'expired');
  assert.match(await dp.textContent('#v-result'), /Mã đã hết hạn/);
  await checkPage(dp, 'desk-expired');
  assert.equal(blocked, 0, 'the checks made no request to the server');
  await desk.close();

  // A bank checks a second QR (over 18 and name, for banking) online with its client
  // credentials; the citizen then sees the bank's read on "who used my data" at 390 px.
  const added = spawnSync(bin, ['--db', db, 'admin', 'client', 'add', '--client-id', 'ngan-hang-thu',
    '--name-vi', 'Ngân hàng Thử nghiệm', '--name-en', 'Test Bank', '--redirect-uri', 'https://bank.example.vn/cb',
    '--scopes', 'openid profile', '--alg', 'ES256', '--auth-method', 'client_secret_basic'], { encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);
  const secret = added.stdout.match(/^client_secret: (\S+)$/m)?.[1];
  assert.ok(secret, `a secret was printed:\n${added.stdout}`);
  await page.goto(base + '/me/wallet');
  await page.selectOption('select[name=purpose]', 'bank');
  await page.check('input[name=attr][value=over18]');
  await page.check('input[name=attr][value=name]');
  await submit(page, 'form[action="/me/wallet/present"] button[type=submit]');
  const bankQr = await page.inputValue('#qr-text');
  const basic = Buffer.from(`ngan-hang-thu:${secret}`).toString('base64');
  const checked = await fetch(`${base}/api/v1/presentations/verify`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
    body: JSON.stringify({ presentation: bankQr, purpose: 'bank' }),
  });
  assert.equal(checked.status, 200, await checked.clone().text());
  const read = await checked.json();
  assert.equal(read.claims.over18, true);
  assert.equal(read.claims.name, person.name.full);
  assert.equal(read.claims.hi, undefined, 'only what the QR disclosed');
  await page.goto(base + '/me/data-use');
  const uses = await page.textContent('main');
  const at = uses.indexOf('Ngân hàng Thử nghiệm');
  assert.ok(at >= 0, `the bank's read is listed:\n${uses}`);
  const entry = uses.slice(at, at + 240);
  assert.match(entry, /đủ 18 tuổi/);
  assert.match(entry, /Giao dịch ngân hàng/);
  await checkPage(page, 'data-use-bank');
  await context.close();
});
