// Figures reported by units that do not run eid, in a real browser at a fixed date (`eid demo
// --clock-at`, 15 March 2025): the ministry's national view ranks all 63 provinces from the
// demo's first minute (the other provinces arrive as reported figures); a province officer
// enters a commune's figure, imports a CSV with a bad row (nothing written, the line reported),
// then with bad rows skipped, and corrects a figure whose page keeps every version — in
// Vietnamese and English, at desktop width and at 390 px, where no page scrolls sideways.
// Screenshots go to tests/browser/screenshots/ops-reported-*.png.
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

const AT = '2025-03-15T09:00:00+07:00';
let server, browser, base, dir, out = '';
const accounts = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-reported-'));
  const db = `sqlite://${join(dir, 'eid.db')}`;
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
  assert.match(out, /reported figures: \d+ rows imported/);
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

async function assertNoSideScroll(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(scroll <= inner, `${what}: ${scroll}px wide in a ${inner}px window`);
}

for (const [width, name] of [[1280, 'desktop'], [390, 'phone']]) {
  test(`the ministry ranks all 63 provinces from the demo's first minute (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'ministry');
    await page.goto(base + '/ops');
    const units = await page.locator('#national tr[data-unit]').evaluateAll((rows) => rows.map((r) => r.dataset.unit));
    assert.equal(new Set(units).size, 63, `${new Set(units).size} provinces ranked`);
    await assertNoSideScroll(page, 'national view');
    await page.screenshot({ path: join(shots, `ops-reported-national-${name}.png`), fullPage: true });
    await page.close();
  });

  test(`a province enters, imports and corrects reported figures (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'province');
    await page.goto(base + '/ops/reported');
    const main = await page.textContent('main');
    assert.match(main, /Số liệu báo cáo/);
    assert.match(main, /không cộng/, 'the rule');
    assert.ok(await page.locator('.reported-legend .badge.reported').count() >= 1, 'the badge in the legend');
    await assertNoSideScroll(page, 'reported figures');

    // Enter a commune's figure (the second option: a commune under the first district).
    const unit = await page.locator('select[name=unit] option').nth(1).getAttribute('value');
    await page.selectOption('select[name=unit]', unit);
    const day = name === 'desktop' ? '10/03/2025' : '11/03/2025';
    await page.fill('input[name=day]', day);
    await page.fill('input[name=count]', '1.234');
    await page.fill('input[name=source]', 'Zalo UBND xã');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/ops/reported"] button[type=submit]')]);
    assert.match(await page.textContent('p.success'), /Đã lưu số liệu báo cáo/);
    const row = page.locator('table.reported tbody tr', { hasText: day }).first();
    assert.match(await row.textContent(), /1\.234/);
    assert.match(await row.textContent(), /báo cáo/);
    await page.screenshot({ path: join(shots, `ops-reported-entry-${name}.png`), fullPage: true });

    // Import a CSV with a bad line: nothing written, the line and the reason shown.
    const csvDay = name === 'desktop' ? '08/03/2025' : '09/03/2025';
    const csv = `unit,day,metric,count,source\n${unit},${csvDay},level1_activated,17,\n${unit},31/02/2025,level1_activated,3,\n`;
    await page.setInputFiles('input[name=file]', { name: 'tuan.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.fill('form[action="/ops/reported/import"] input[name=source]', 'bảng tính tuần');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/ops/reported/import"] button[type=submit]')]);
    assert.match(await page.textContent('p.error'), /chưa nhập dòng nào/);
    assert.match(await page.textContent('table.bad-rows'), /3/);
    await assertNoSideScroll(page, 'import report');
    await page.screenshot({ path: join(shots, `ops-reported-import-${name}.png`), fullPage: true });
    await page.setInputFiles('input[name=file]', { name: 'tuan.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.fill('form[action="/ops/reported/import"] input[name=source]', 'bảng tính tuần');
    await page.check('input[name=skip_bad]');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/ops/reported/import"] button[type=submit]')]);
    assert.match(await page.textContent('p.success'), /Đã nhập tệp/);

    // Correct the entered figure; its page keeps both versions.
    await page.goto(base + '/ops/reported');
    await Promise.all([page.waitForNavigation(), page.locator('table.reported tbody tr', { hasText: day }).first().locator('a').click()]);
    await page.fill('form[action^="/ops/reported/"] input[name=count]', '1.240');
    await page.fill('form[action^="/ops/reported/"] input[name=reason]', 'xã gửi lại số đúng');
    await Promise.all([page.waitForNavigation(), page.click('form[action^="/ops/reported/"] button[type=submit]')]);
    const versions = await page.textContent('table.versions');
    assert.match(versions, /1\.234/);
    assert.match(versions, /1\.240/);
    assert.match(versions, /xã gửi lại số đúng/);
    await assertNoSideScroll(page, 'a figure and its versions');
    await page.screenshot({ path: join(shots, `ops-reported-figure-${name}.png`), fullPage: true });

    // In English.
    await page.goto(base + `/lang/en?next=${encodeURIComponent('/ops/reported')}`);
    const en = await page.textContent('main');
    assert.match(en, /Reported figures/);
    assert.match(en, /not added/);
    await assertNoSideScroll(page, 'reported figures, English');
    await page.screenshot({ path: join(shots, `ops-reported-en-${name}.png`), fullPage: true });
    await page.goto(base + `/lang/vi?next=${encodeURIComponent('/ops')}`);
    await page.close();
  });
}
