// The relying-party registry in a real browser (Debian's chromium driven by playwright-core):
// `eid demo` on a temporary SQLite database and port 0; the ministry officer follows the
// navigation link, registers a service on a 390 px screen, reads its secret once, edits it,
// gives it a new secret and disables it; a province officer sees no link and gets 403.
// Screenshots go to tests/browser/screenshots/rp-*.png.
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
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-rp-'));
  const db = `sqlite://${join(dir, 'eid.db')}`;
  server = spawn(bin, ['--db', db, '--listen', '127.0.0.1:0', 'demo', '--people', '2000', '--seed', '5', '--history-days', '0'], {
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
  assert.ok(accounts.ministry && accounts.province, `credentials printed:\n${out}`);
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
  await page.goto(base + '/login');
  await page.fill('input[name=username]', accounts[role].username);
  await page.fill('input[name=password]', accounts[role].password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

test('the ministry registers, edits, re-keys and disables a relying party on a phone-sized screen', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await signIn(page, 'ministry');
  await Promise.all([page.waitForNavigation(), page.click('.sidenav a[href="/relying-parties"]')]);
  assert.match(await page.textContent('h1'), /Dịch vụ đăng nhập bằng eID/);
  // The demo registered its sample portal.
  assert.equal(await page.locator('tr[data-client="demo-portal"]').count(), 1);
  await page.screenshot({ path: join(shots, 'rp-list.png'), fullPage: true });

  await Promise.all([page.waitForNavigation(), page.click('a[href="/relying-parties/new"]')]);
  await page.fill('input[name=client_id]', 'ngan-hang-thu');
  await page.fill('input[name=name_vi]', 'Ngân hàng Thử nghiệm');
  await page.fill('input[name=name_en]', 'Test Bank');
  await page.fill('textarea[name=redirect_uris]', 'https://nganhang.example.vn/oidc/cb');
  await page.check('input[name="scope.birthdate"]');
  await page.check('input[name="scope.phone"]');
  await page.selectOption('select[name=alg]', 'RS256');
  await page.screenshot({ path: join(shots, 'rp-new.png'), fullPage: true });
  // Nothing on the page is wider than the screen.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390 + 1), 'fits 390 px');
  await Promise.all([page.waitForNavigation(), page.click('form.rp-form button[type=submit]')]);
  const secret = (await page.textContent('#client-secret')).trim();
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.equal((await page.textContent('#client-id')).trim(), 'ngan-hang-thu');
  assert.match(await page.textContent('main'), /chỉ hiển thị một lần/);
  await page.screenshot({ path: join(shots, 'rp-secret.png'), fullPage: true });

  await Promise.all([page.waitForNavigation(), page.click('main a[href="/relying-parties/ngan-hang-thu"]')]);
  assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');
  assert.equal(await page.isChecked('input[name="scope.phone"]'), true);
  await page.fill('input[name=name_vi]', 'Ngân hàng Thử nghiệm Trung ương');
  await page.uncheck('input[name="scope.phone"]');
  await page.check('input[name="acr.urn:eid:vn:loa:2"]');
  await Promise.all([page.waitForNavigation(), page.click('form.rp-form button[type=submit]')]);
  assert.match(await page.textContent('p.success'), /Đã lưu thay đổi/);
  assert.equal(await page.isChecked('input[name="scope.phone"]'), false);
  assert.match(await page.textContent('h1'), /Ngân hàng Thử nghiệm Trung ương/);

  await Promise.all([page.waitForNavigation(), page.click('#rotate')]);
  const fresh = (await page.textContent('#client-secret')).trim();
  assert.notEqual(fresh, secret);
  await page.goto(base + '/relying-parties/ngan-hang-thu');
  await Promise.all([page.waitForNavigation(), page.click('#disable')]);
  assert.match(await page.textContent('h1'), /Đã vô hiệu hoá/);
  assert.equal(await page.locator('#rotate').count(), 0);
  await page.screenshot({ path: join(shots, 'rp-client.png'), fullPage: true });

  await page.goto(base + '/lang/en?next=/relying-parties');
  assert.match(await page.textContent('h1'), /Services signing in with eID/);
  await page.goto(base + '/lang/vi?next=/relying-parties');
  await page.close();
});

test('a province officer sees no registry link and is refused its pages', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, 'province');
  assert.equal(await page.locator('.sidenav a[href="/relying-parties"]').count(), 0);
  for (const path of ['/relying-parties', '/relying-parties/new', '/relying-parties/demo-portal']) {
    const res = await page.goto(base + path);
    assert.equal(res.status(), 403, path);
  }
  await page.close();
});
