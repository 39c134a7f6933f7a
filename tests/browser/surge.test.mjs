// Surge mode in a real browser (Debian's chromium driven by playwright-core): `eid demo` on a
// temporary SQLite database; the ministry officer follows the navigation link to /surge, sees the
// lanes and the demo's announced peak, and announces one on a 390 px screen; a province officer
// sees no link and gets 403. Then a second server with one place in flight and goals of 1 ms,
// its place held by a request whose body never comes: a registration page is the Vietnamese
// waiting page (503, reloading itself). Screenshots go to tests/browser/screenshots/surge-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

let server, tiny, browser, base, dir;
const accounts = {};

function start(args, pattern) {
  const child = spawn(bin, args, { env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 120_000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  return { child, ready, output: () => out };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-surge-'));
  const demo = start(['--db', `sqlite://${join(dir, 'eid.db')}`, '--listen', '127.0.0.1:0', 'demo', '--people', '2000', '--seed', '5', '--history-days', '0'],
    /eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
  server = demo.child;
  base = await demo.ready;
  for (const line of demo.output().split('\n')) {
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+.*\s(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], password: m[3] };
  }
  assert.ok(accounts.ministry && accounts.province, `credentials printed:\n${demo.output()}`);
  // stdout and stderr arrive in either order: wait a moment for the demo's surge line.
  for (let i = 0; i < 50 && !/surge: open /.test(demo.output()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(demo.output(), /surge: open http:\/\/127\.0\.0\.1:\d+\/surge/);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  tiny?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(page, role) {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', accounts[role].username);
  await page.fill('input[name=password]', accounts[role].password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

test('the ministry sees the lanes and announces a peak on a phone-sized screen', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await signIn(page, 'ministry');
  await Promise.all([page.waitForNavigation(), page.click('.sidenav a[href="/surge"]')]);
  assert.match(await page.textContent('h1'), /Cao điểm truy cập và kiểm soát tiếp nhận/);
  assert.equal(await page.locator('tr[data-lane]').count(), 3);
  assert.match(await page.textContent('main'), /Ví dụ: giờ cao điểm buổi tối/);
  await page.fill('input[name=start]', '28/08/2030 19:00');
  await page.fill('input[name=end]', '28/08/2030 23:30');
  await page.fill('input[name=load]', '4');
  await page.fill('input[name=note]', 'Công bố hỗ trợ tiền mặt');
  await Promise.all([page.waitForNavigation(), page.click('form.card button[type=submit]')]);
  assert.match(await page.textContent('p.success'), /Đã công bố cao điểm/);
  assert.match(await page.textContent('main'), /28\/08\/2030 19:00/);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390 + 1), 'fits 390 px');
  await page.screenshot({ path: join(shots, 'surge-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(shots, 'surge-desktop.png'), fullPage: true });
  await page.close();
});

test('a province officer sees no surge link and is refused the page', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, 'province');
  assert.equal(await page.locator('.sidenav a[href="/surge"]').count(), 0);
  const res = await page.goto(base + '/surge');
  assert.equal(res.status(), 403);
  await page.close();
});

test('a person turned away sees the Vietnamese waiting page that reloads itself', async () => {
  const config = join(dir, 'tiny.toml');
  writeFileSync(config, '[admission]\ninitial_limit = 1\nmin_limit = 1\nmax_limit = 1\ngoal_ms = [1, 1, 1]\n');
  const t = start(['--config', config, '--db', `sqlite://${join(dir, 'tiny.db')}`, '--listen', '127.0.0.1:0', 'serve', '--dev'],
    /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  tiny = t.child;
  const url = new URL(await t.ready);
  // The one place is held by a registration whose body never comes.
  const hold = connect(Number(url.port), url.hostname);
  await new Promise((resolve) => hold.on('connect', resolve));
  hold.write('POST /api/v1/app/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  const res = await page.goto(url.origin + '/me/register');
  assert.equal(res.status(), 503);
  assert.ok(Number(res.headers()['retry-after']) >= 1);
  assert.match(await page.textContent('h1'), /Hệ thống đang có rất nhiều người truy cập/);
  assert.match(await page.textContent('main'), /Thời gian chờ dự kiến: khoảng \d+ giây/);
  assert.equal(await page.locator('meta[http-equiv=refresh]').count(), 1);
  await page.screenshot({ path: join(shots, 'surge-waiting.png'), fullPage: true });
  hold.end('{}');
  await page.close();
});
