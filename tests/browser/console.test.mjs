// The web console in a real browser: Debian's chromium driven by playwright-core.
// Starts `eid demo` on a temporary SQLite database and port 0, signs in with the printed
// credentials, and walks through sign-in, search, the person page, scope, units and language.
// Screenshots go to tests/browser/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

let server, browser, base, dir;
const accounts = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-'));
  server = spawn(bin, ['--db', `sqlite://${join(dir, 'eid.db')}`, '--listen', '127.0.0.1:0', 'demo', '--people', '4000', '--seed', '7'], {
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
  assert.ok(accounts.commune && accounts.province, `credentials printed:\n${out}`);
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

async function signIn(page, role) {
  await page.goto(base + '/');
  await page.fill('input[name=username]', accounts[role].username);
  await page.fill('input[name=password]', accounts[role].password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

test('a wrong password is refused in Vietnamese without saying whether the user exists', async () => {
  const page = await browser.newPage();
  await page.goto(base + '/');
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  await page.fill('input[name=username]', 'khong.ton.tai');
  await page.fill('input[name=password]', 'wrong password 1A');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  const unknownUser = await page.textContent('main');
  await page.fill('input[name=username]', accounts.province.username);
  await page.fill('input[name=password]', 'wrong password 1A');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  const wrongPassword = await page.textContent('main');
  assert.equal(unknownUser, wrongPassword);
  assert.match(wrongPassword, /Đăng nhập/);
  await page.screenshot({ path: join(shots, 'login-failed.png') });
  await page.close();
});

test('a commune officer finds people of the commune by a name typed without accents', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, 'commune');
  await page.goto(base + '/search?name=nguyen');
  const rows = page.locator('table tbody tr');
  assert.ok((await rows.count()) > 0, 'some Nguyễn live in the commune');
  const first = await rows.first().textContent();
  assert.match(first, /Nguyễn/);
  assert.match(first, /0\*{6}\d{3}|—|^/, 'phones are masked in results');
  await page.screenshot({ path: join(shots, 'search.png'), fullPage: true });

  await Promise.all([page.waitForNavigation(), page.locator('table tbody tr a[href^="/persons/"]').first().click()]);
  const body = await page.textContent('main');
  assert.match(body, /Lịch sử thay đổi/);
  assert.match(body, /Tạo mới/);
  assert.match(body, /Hệ thống \(demo\)/, "the demo import shown as the system, not cli:demo");
  await page.screenshot({ path: join(shots, 'person.png'), fullPage: true });
  await page.close();
});

test('a commune officer is refused a person of another commune', async () => {
  const province = await browser.newPage();
  await signIn(province, 'province');
  await province.goto(base + '/search?name=nguyen');
  const ids = await province.locator('table tbody tr a[href^="/persons/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  await province.close();

  const page = await browser.newPage();
  await signIn(page, 'commune');
  let refused = 0;
  for (const href of ids) {
    const res = await page.goto(base + href);
    if (res.status() === 403) {
      refused += 1;
      assert.match(await page.textContent('main'), /ngoài phạm vi/);
      await page.screenshot({ path: join(shots, 'scope-denied.png') });
      break;
    }
  }
  assert.equal(refused, 1, 'at least one person of the province lives outside the commune');
  await page.close();
});

test('the unit tree shows population counts that add up', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, 'province');
  await page.goto(base + '/units');
  const cells = await page.locator('table tbody tr td:nth-child(3)').allTextContents();
  const sum = cells.map((c) => Number(c.replace(/\D/g, ''))).reduce((a, b) => a + b, 0);
  assert.equal(sum, 4000);
  await page.screenshot({ path: join(shots, 'units.png'), fullPage: true });
  await page.close();
});

test('development mode shows a strip on every page, in both languages, at 390 px too', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(base + '/login');
  const strip = page.locator('.devstrip');
  assert.ok(await strip.isVisible());
  assert.match(await strip.textContent(), /Chế độ phát triển/);
  await signIn(page, 'commune');
  assert.ok(await page.locator('.devstrip').isVisible());
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at 390 px (${overflow} px)`);
  await page.screenshot({ path: join(shots, 'devstrip-390.png') });
  await page.goto(base + '/lang/en?next=/search');
  assert.match(await page.locator('.devstrip').textContent(), /Development mode/);
  await page.goto(base + '/lang/vi?next=/search');
  await page.close();
});

test('the English switch translates the console and signing out ends the session', async () => {
  const page = await browser.newPage();
  await signIn(page, 'province');
  await page.goto(base + '/lang/en?next=/search');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  const nav = await page.textContent('body');
  assert.match(nav, /Search/);
  assert.match(nav, /Sign out/);
  await page.screenshot({ path: join(shots, 'search-en.png') });
  await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
  const res = await page.goto(base + '/search?name=nguyen');
  assert.match(page.url(), /login/);
  assert.ok(res.ok());
  await page.close();
});

test('a unit is found by its name typed without accents', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, 'province');
  await page.goto(base + '/units');
  await page.fill('form.inline-find input[name=name]', 'dak glei');
  await Promise.all([page.waitForNavigation(), page.click('form.inline-find button')]);
  const rows = page.locator('table tbody tr');
  assert.ok((await rows.count()) >= 2, 'the district and its town');
  assert.match(await page.textContent('main'), /Huyện Đắk Glei/);
  await page.screenshot({ path: join(shots, 'units-find.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.locator('table tbody a', { hasText: 'Huyện Đắk Glei' }).click()]);
  assert.match(page.url(), /\/units\/610$/);
  await page.close();
});

test('a person page lists the other members of the household, each a link', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await signIn(page, 'commune');
  await page.goto(base + '/search?name=nguyen');
  const hrefs = await page.locator('table tbody tr a[href^="/persons/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  let found = false;
  for (const href of hrefs.slice(0, 20)) {
    await page.goto(base + href);
    if ((await page.locator('table.members tbody tr').count()) === 0) continue;
    found = true;
    const household = (await page.textContent('h2 .mono')).trim();
    assert.match(await page.textContent('main'), /Thành viên cùng hộ/);
    await page.screenshot({ path: join(shots, 'person-household.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.locator('table.members a').first().click()]);
    assert.match(await page.textContent('main'), new RegExp(household));
    break;
  }
  assert.ok(found, 'someone among the first results lives with others');
  await page.close();
});

test('an officer records a death with its date and reason, and the history shows who and why', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await signIn(page, 'commune');
  await page.goto(base + '/search?name=nguyen');
  await Promise.all([page.waitForNavigation(), page.locator('table tbody tr a[href^="/persons/"]').last().click()]);
  const personUrl = page.url();
  await Promise.all([page.waitForNavigation(), page.click('a.button[href$="/edit"]')]);
  await page.selectOption('select[name=life]', 'dead');
  await page.fill('input[name=life_date]', '2026-11-20');
  await page.fill('input[name=reason]', 'Trích lục khai tử của UBND xã');
  await page.screenshot({ path: join(shots, 'person-edit.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/edit"] button[type=submit]')]);
  assert.equal(page.url(), personUrl);
  const body = await page.textContent('main');
  assert.match(body, /Đã mất/);
  assert.match(body, /Trích lục khai tử của UBND xã/);
  // Who, by name and username (not staff:N), and the field in words (not life_status).
  assert.ok(body.includes(`(${accounts.commune.username})`), 'the officer who recorded it');
  assert.match(body, /Tình trạng/);
  assert.doesNotMatch(body, /staff:\d+|life_status/);
  assert.match(body, /Đã lưu thay đổi hồ sơ/);
  await page.screenshot({ path: join(shots, 'person-after-edit.png'), fullPage: true });
  await page.close();
});
