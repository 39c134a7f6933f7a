// Residence procedures in a real browser (issue 14), at 390 px: a citizen of the demo commune
// becomes level 2 on the pages, files a temporary residence request with a scan (sent through
// the passcode step-up first), the commune officer asks for more in the console, the citizen
// answers with another file, the officer approves, the register (the person's page and its
// history) shows the new temporary residence with the request as reason, and the citizen's
// confirmation of residence information verifies on /verify/residence — and is refused with one
// byte altered; then a temporary absence, approved, shows on the person's page with its dates
// and destination. Screenshots: tests/browser/screenshots/res-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  adult, apiOf, bin, communePeople, issueToken, launchChromium, shots, smsCode as smsCodeOf, startDemo, stopDemo,
} from './lib/demo.mjs';

const PASSWORD = 'Mật-khẩu-Mạnh-2026';
const PASSCODE = '135790';

let demo, server, browser, base, dir, db, ministryToken, api;
const accounts = {};
/** Adults of the demo commune with a phone and a card issued from 2022-04-01. */
let people = [];
const smsCode = (phone, purpose) => smsCodeOf(api, phone, purpose);

before(async () => {
  demo = await startDemo({
    label: 'res',
    demoArgs: ['--people', '4000', '--seed', '17', '--history-days', '0'],
  });
  ({ server, base, dir, db } = demo);
  Object.assign(accounts, demo.accounts);
  ministryToken = issueToken(demo, accounts.ministry.username, 'browser test citizen');
  api = apiOf(demo, ministryToken);
  const commune = accounts.commune.username.split('.').pop();
  people = await communePeople(api, commune, adult(16, '2022-04-01'));
  assert.ok(people.length >= 2, `two eligible people in the commune (found ${people.length})`);
  browser = await launchChromium();
});

after(() => stopDemo(demo, browser));


const ENGLISH = /\b(Sign in|Sign out|Password|password|Passcode|Account|Level|Register|Residence|Temporary|Submit|Approve|Refuse|Verify|Confirmation)\b/;

async function checkPage(page, name, mobile = true) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, ENGLISH, `${name}: English on a Vietnamese page:\n${text}`);
  if (mobile) {
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `${name}: horizontal scroll at 390 px (${scroll} > ${client})`);
  }
  await page.screenshot({ path: join(shots, `res-${name}.png`), fullPage: true });
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

test('a temporary residence request goes from a phone through the commune police into the register and a verified confirmation', async () => {
  const person = people[0];
  const commune = accounts.commune.username.split('.').pop();
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'vi-VN' });
  const me = await phone.newPage();
  const photo = { name: 'chan-dung.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(`eid-dev-portrait:${person.personal_id}`) };

  // Level 1 on the pages, then the self-service upgrade to level 2.
  await me.goto(base + '/me/register');
  await me.fill('input[name=personal_id]', person.personal_id);
  await me.fill('input[name=phone]', person.phone);
  await me.setInputFiles('input[type=file]', photo);
  await submit(me, 'main form.me-form button[type=submit]');
  await me.fill('input[name=code]', await smsCode(person.phone, 'register'));
  await me.fill('input[name=password]', PASSWORD);
  await me.fill('input[name=passcode]', PASSCODE);
  await submit(me, 'main form.me-form button[type=submit]');
  await me.fill('input[name=personal_id]', person.personal_id);
  await me.fill('input[name=password]', PASSWORD);
  await submit(me, 'main form.me-form button[type=submit]');
  await me.goto(base + '/me/upgrade');
  await me.setInputFiles('input[type=file]', photo);
  await me.fill('input[name=passcode]', PASSCODE);
  await submit(me, 'main form.me-form button[type=submit]');
  assert.match(me.url(), /done=upgraded/);

  // A new sign-in at level 1 is sent through the passcode step before the form.
  await submit(me, 'nav.me-nav button[type=submit]');
  await me.goto(base + '/me/signin');
  await me.fill('input[name=personal_id]', person.personal_id);
  await me.fill('input[name=password]', PASSWORD);
  await submit(me, 'main form.me-form button[type=submit]');
  await me.click('nav.me-nav a[href="/me/residence"]');
  await me.waitForURL(/\/me\/residence$/);
  await checkPage(me, 'list-empty');
  await me.click('#res-new');
  await me.waitForURL(/\/me\/signin\/passcode\?/);
  await me.fill('input[name=passcode]', PASSCODE);
  await submit(me, 'main form.me-form button[type=submit]');
  await me.waitForURL(/\/me\/residence\/new$/);

  // The request, with a scan.
  const until = `${new Date().getFullYear() + 1}-06-30`;
  await me.check('input[name=procedure][value=temporary]');
  await me.fill('input[name=commune]', commune);
  await me.fill('input[name=address]', 'Số 12 đường Trần Hưng Đạo');
  await me.fill('input[name=until]', until);
  await me.fill('textarea[name=note]', 'Thuê nhà để đi làm');
  await me.setInputFiles('input[name=files]', { name: 'hop-dong.jpg', mimeType: 'image/jpeg', buffer: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 7)]) });
  await checkPage(me, 'new');
  await submit(me, '#res-form button[type=submit]');
  assert.match(me.url(), /\/me\/residence\/\d+\?done=submitted$/);
  const id = me.url().match(/residence\/(\d+)/)[1];
  assert.match(await me.textContent('#res-state'), /Đã tiếp nhận/);
  assert.match(await me.textContent('#res-clock'), /ngày làm việc/);
  await checkPage(me, 'submitted');

  // The commune officer asks for more.
  const desk = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'vi-VN' });
  const cop = await desk.newPage();
  await cop.goto(base + '/login');
  await cop.fill('input[name=username]', accounts.commune.username);
  await cop.fill('input[name=password]', accounts.commune.password);
  await submit(cop, 'form button[type=submit]');
  await cop.goto(base + '/residence');
  assert.equal(await cop.locator(`tr[data-request="${id}"]`).count(), 1);
  await checkPage(cop, 'queue');
  await cop.goto(`${base}/residence/${id}`);
  await cop.fill('#res-ask textarea[name=question]', 'Đề nghị bổ sung hợp đồng thuê nhà có chữ ký của chủ nhà');
  await submit(cop, '#res-ask button[type=submit]');
  assert.match(await cop.textContent('#res-state'), /Cần bổ sung/);
  await checkPage(cop, 'asked');

  // The citizen sees the question and answers with a PDF.
  await me.goto(`${base}/me/residence/${id}`);
  assert.match(await me.textContent('#res-asked'), /hợp đồng thuê nhà có chữ ký/);
  await checkPage(me, 'asked');
  await me.fill('#res-answer textarea[name=answer]', 'Đã bổ sung hợp đồng có chữ ký');
  await me.setInputFiles('#res-answer input[name=files]', { name: 'hop-dong-ky.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% hop dong\n') });
  await submit(me, '#res-answer button[type=submit]');
  assert.match(me.url(), /done=answered$/);

  // Approved: the register and the person's history show the change.
  await cop.goto(`${base}/residence/${id}`);
  await submit(cop, '#res-approve button[type=submit]');
  assert.match(await cop.textContent('#res-state'), /Đã phê duyệt/);
  await cop.click('#res-person');
  await cop.waitForURL(/\/persons\//);
  const record = await cop.textContent('main');
  assert.match(record, /Số 12 đường Trần Hưng Đạo/);
  assert.match(record, new RegExp(`Hồ sơ cư trú số ${id}`));
  await checkPage(cop, 'person', false);

  // The confirmation, and its check by anyone.
  await me.goto(`${base}/me/residence/${id}`);
  assert.match(await me.textContent('#res-state'), /Đã phê duyệt/);
  await me.goto(base + '/me/residence/confirmation');
  assert.match(await me.textContent('#res-temporary'), /Trần Hưng Đạo/);
  assert.equal(await me.locator('.res-qr svg').count(), 1);
  await checkPage(me, 'confirmation');
  const token = (await me.inputValue('#res-token')).trim();
  const anyone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'vi-VN' });
  const check = await anyone.newPage();
  await check.goto(base + '/verify/residence');
  await check.fill('textarea[name=t]', token);
  await submit(check, 'form.me-form button[type=submit]');
  assert.match(await check.textContent('#res-verified'), /Chữ ký hợp lệ/);
  await checkPage(check, 'verified');
  const i = token.indexOf('.') + 12;
  const altered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
  await check.goto(base + '/verify/residence');
  await check.fill('textarea[name=t]', altered);
  await submit(check, 'form.me-form button[type=submit]');
  assert.equal(await check.locator('#res-verified').count(), 0);
  assert.equal(await check.locator('#res-refused').count(), 1);
  await checkPage(check, 'refused');

  // A temporary absence, approved, is in the register too: the person's page shows its dates
  // and destination (dd/mm/yyyy) and the temporary residence its term's end; the history names
  // the fields with the request as reason.
  await me.goto(base + '/me/residence/new');
  const back = `${new Date().getFullYear() + 1}-03-31`;
  await me.check('input[name=procedure][value=absence]');
  await me.fill('input[name=address]', 'Phường Hải Châu, thành phố Đà Nẵng');
  await me.fill('input[name=until]', back);
  await me.fill('textarea[name=note]', 'Đi làm xa một thời gian');
  await submit(me, '#res-form button[type=submit]');
  assert.match(me.url(), /\/me\/residence\/\d+\?done=submitted$/);
  const away = me.url().match(/residence\/(\d+)/)[1];
  await cop.goto(`${base}/residence/${away}`);
  await submit(cop, '#res-approve button[type=submit]');
  assert.match(await cop.textContent('#res-state'), /Đã phê duyệt/);
  await cop.click('#res-person');
  await cop.waitForURL(/\/persons\//);
  assert.match(await cop.textContent('dd.absence'), new RegExp(`đến 31/03/${back.slice(0, 4)} · nơi đến Phường Hải Châu`));
  const withAbsence = await cop.textContent('main');
  assert.match(withAbsence, new RegExp(`hạn đến 30/06/${until.slice(0, 4)}`));
  assert.match(withAbsence, new RegExp(`Hồ sơ cư trú số ${away}`));
  assert.match(withAbsence, /Tạm vắng đến ngày/);
  await checkPage(cop, 'person-absence', false);
  await Promise.all([phone.close(), desk.close(), anyone.close()]);
});
