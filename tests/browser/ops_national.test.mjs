// The operations console's second pass in a real browser, at a fixed date (`eid demo
// --clock-at`, 15 March 2025): the ministry's national view (2024 and 2025 boundaries), a quota
// that closed before that day (its figures stop at its deadline, met or missed), a quota's
// ranking and split table with each child's required rate, days left and forecast, and the unit
// picker — in Vietnamese and English, at desktop width and at 390 px, where no page scrolls sideways.
// Screenshots go to tests/browser/screenshots/ops2-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const AT = '2025-03-15T09:00:00+07:00';
let server, browser, base, dir, db, out = '';
const accounts = {};
const tokens = {};
let province, closedQuota, provinceQuota;

async function api(role, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[role]}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-ops2-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  server = spawn(bin, ['--db', db, '--listen', '127.0.0.1:0', '--clock-at', AT, 'demo', '--people', '3000', '--history-days', '20'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
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
  for (const line of out.split('\n')) {
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+(.*?)\s+(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], unitName: m[3], password: m[4] };
  }
  assert.ok(accounts.ministry && accounts.province, `credentials printed:\n${out}`);
  for (const role of ['ministry', 'province']) {
    const r = spawnSync(bin, ['--db', db, 'admin', 'issue-token', '--username', accounts[role].username, '--name', 'ops2 browser test'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    tokens[role] = r.stdout.trim().split('\n').pop().trim();
  }
  province = accounts.province.username.split('.').pop();
  // A quota of the province that closed on 1 March 2025, before the fixed day.
  const q = await api('ministry', 'POST', '/api/v1/ops/quotas', {
    unit: province, metric: 'level1_activated', target: 1_000_000, start: '2025-02-20', deadline: '2025-03-01', reason: 'Đợt thí điểm tháng 2',
  });
  assert.equal(q.status, 201, JSON.stringify(q.body));
  closedQuota = q.body.quota.id;
  const list = await api('province', 'GET', '/api/v1/ops/quotas');
  provinceQuota = list.body.quotas.find((x) => x.metric === 'applications_collected').id;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=vi-VN'],
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

/** The page is no wider than the window: nothing scrolls sideways. */
async function assertNoSideScroll(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(scroll <= inner, `${what}: ${scroll}px wide in a ${inner}px window`);
}

async function english(page, next) {
  await page.goto(base + `/lang/en?next=${encodeURIComponent(next)}`);
}

for (const [width, name] of [[1280, 'desktop'], [390, 'phone']]) {
  test(`the ministry ranks the provinces in both boundaries (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'ministry');
    await page.goto(base + '/ops');
    const text = await page.textContent('main');
    assert.match(text, /Toàn quốc: xếp hạng các tỉnh/);
    assert.doesNotMatch(text, /Đơn vị chưa được giao chỉ tiêu nào/);
    const rows = page.locator('#national table.national-ranking tbody tr');
    assert.ok((await rows.count()) >= 3, 'the demo province on each of its metrics');
    assert.equal(await page.locator(`#national tr[data-unit="${province}"]`).count() >= 3, true);
    assert.match(await page.textContent('#national'), /Đạt cả hai chỉ tiêu/);
    assert.match(await page.textContent('#national thead'), /Cần\/ngày/);
    assert.match(await page.textContent('#national tbody'), /\d+,\d\d\u00a0%/);
    assert.match(await page.textContent('#national tbody'), /\d\d\/\d\d\/\d{4}|không đạt|—/, 'dates dd/mm/yyyy');
    await assertNoSideScroll(page, 'national view');
    await page.screenshot({ path: join(shots, `ops2-national-${name}.png`), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('#national .tree-switch a[href*="tree=2025"]')]);
    assert.match(await page.textContent('#national .tree-switch strong'), /34 tỉnh/);
    assert.ok((await rows.count()) >= 3);
    await assertNoSideScroll(page, 'national view, 2025');
    await page.screenshot({ path: join(shots, `ops2-national-2025-${name}.png`), fullPage: true });
    await english(page, '/ops');
    const en = await page.textContent('main');
    assert.match(en, /Nationwide: provinces ranked/);
    assert.match(en, /Needed a day/);
    assert.doesNotMatch(en, /Toàn quốc: xếp/);
    await assertNoSideScroll(page, 'national view, English');
    await page.screenshot({ path: join(shots, `ops2-national-en-${name}.png`), fullPage: true });
    await page.close();
  });

  test(`a quota closed before the fixed day keeps its deadline's figures (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'province');
    await page.goto(base + `/ops/quotas/${closedQuota}`);
    assert.match(await page.textContent('#period-note'), /Chỉ tiêu đã kết thúc ngày 01\/03\/2025/);
    assert.match(await page.textContent('h1 .badge'), /Không đạt/);
    const api1 = await api('province', 'GET', `/api/v1/ops/quotas/${closedQuota}`);
    const api2 = await api('province', 'GET', `/api/v1/ops/quotas/${closedQuota}?as_of=2025-03-01`);
    assert.equal(api1.body.quota.done, api2.body.quota.done, 'the same figures as on its deadline');
    assert.equal(api1.body.quota.status, 'missed');
    assert.equal(typeof api1.body.quota.percent, 'number');
    await assertNoSideScroll(page, 'closed quota');
    await page.screenshot({ path: join(shots, `ops2-closed-${name}.png`), fullPage: true });
    await page.close();
  });

  test(`a quota's ranking shows each child's needs, and its page fits (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'province');
    await page.goto(base + `/ops/quotas/${provinceQuota}`);
    const head = await page.textContent('table.ranking thead');
    assert.match(head, /Cần\/ngày/);
    assert.match(head, /Còn \(ngày\)/);
    assert.match(head, /Dự báo đạt/);
    assert.match(await page.textContent('table.children thead'), /Cần\/ngày/);
    const first = page.locator('table.ranking tbody tr').first();
    assert.match(await first.locator('td.required').textContent(), /^\d[\d.]*(,\d)?$/);
    assert.match(await page.textContent('.quota-main'), /làm tròn lên 1 chữ số thập phân/);
    await assertNoSideScroll(page, 'quota page');
    await page.screenshot({ path: join(shots, `ops2-quota-${name}.png`), fullPage: true });
    await english(page, `/ops/quotas/${provinceQuota}`);
    assert.match(await page.textContent('table.ranking thead'), /Needed a day/);
    assert.match(await page.textContent('.quota-main'), /rounded up to one decimal/);
    await assertNoSideScroll(page, 'quota page, English');
    await page.close();
  });

  test(`the unit picker reaches a commune by its name, without typing a URL (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'province');
    await page.goto(base + '/ops');
    await Promise.all([page.waitForNavigation(), page.click('#pick-unit')]);
    assert.match(await page.textContent('h1'), /Chọn đơn vị/);
    await assertNoSideScroll(page, 'unit picker');
    // Down the tree: a district, then its communes.
    await Promise.all([page.waitForNavigation(), page.locator('#unit-tree ul.unit-list a.small').first().click()]);
    const commune = page.locator('#unit-tree ul.unit-list li a').first();
    const communeName = (await commune.textContent()).trim();
    // The same commune by its name typed without accents.
    const bare = communeName.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase();
    await page.fill('input[name=q]', bare.split(' ').slice(-2).join(' '));
    await Promise.all([page.waitForNavigation(), page.click('form.unit-search button')]);
    const hit = page.locator('#unit-matches a', { hasText: communeName }).first();
    assert.equal(await hit.count(), 1, `found ${communeName}`);
    await page.screenshot({ path: join(shots, `ops2-picker-${name}.png`), fullPage: true });
    await Promise.all([page.waitForNavigation(), hit.click()]);
    assert.match(page.url(), /\/ops\?unit=\d{5}$/);
    assert.match(await page.textContent('h1'), new RegExp(communeName));
    await assertNoSideScroll(page, 'a commune dashboard');
    await page.close();
  });
}
