// The linkage review queue in a real browser (issue 13): a demo register, a noisy social
// insurance copy of it made by `eid gen sector` and imported with `eid link import`; the
// province officer opens the queue (counts per source and outcome, the open reviews and
// conflicts), reads one result's breakdown (per field the sector's value beside the register's,
// numbers 1.234,5 and dates dd/mm/yyyy) and decides it — in Vietnamese, at desktop width and at
// 390 px, where no page scrolls sideways. The auditor has no link to the queue.
// Screenshots go to tests/browser/screenshots/linkage-*.png.
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
const MAPPING = 'row_id=row_id,personal_id=personal_id,surname=surname,middle_name=middle_name,given_name=given_name,birth_date=birth_date,sex=sex,unit_tree=unit_tree,unit=unit';
let server, browser, base, dir, db, out = '';
const accounts = {};

function eid(args) {
  const r = spawnSync(bin, ['--db', db, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `eid ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-link-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  server = spawn(bin, ['--db', db, '--listen', '127.0.0.1:0', '--clock-at', AT, 'demo', '--people', '2000', '--history-days', '5'], {
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
  assert.ok(accounts.province && accounts.auditor, `credentials printed:\n${out}`);
  const province = accounts.province.username.split('.').pop();
  const persons = join(dir, 'persons.csv');
  const sector = join(dir, 'bhxh.csv');
  eid(['export', 'persons', '--unit', province, '--out', persons]);
  eid(['gen', 'sector', '--persons', persons, '--out', sector, '--truth', join(dir, 'truth.csv')]);
  eid(['link', 'source', '--name', 'bhxh', '--kind', 'social_insurance', '--mapping', MAPPING]);
  // A high bar for a match, so that the queue has reviews as well as conflicts.
  eid(['link', 'import', '--source', 'bhxh', sector, '--received', '2025-03-10', '--matched', '0.99999']);
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

for (const [width, name, verdict] of [[1280, 'desktop', 'different'], [390, 'phone', 'same']]) {
  test(`the province officer works the review queue (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'province');
    await Promise.all([page.waitForNavigation(), page.click('nav.sidenav a[href="/linkage"]')]);
    assert.match(await page.textContent('h1'), /Hàng đợi đối chiếu/);
    const counts = page.locator('.link-counts section[data-source="bhxh"]');
    assert.equal(await counts.count(), 1);
    assert.match(await counts.textContent(), /Khớp[\s\S]*\d/);
    assert.match(await counts.textContent(), /Cần xem xét/);
    const cards = page.locator('ul.link-queue li');
    assert.ok((await cards.count()) >= 2, 'reviews and conflicts are waiting');
    assert.match(await cards.first().textContent(), /10\/03\/2025/, 'dates dd/mm/yyyy');
    assert.match(await cards.first().textContent(), /\d+,\d\u00a0%/, 'a probability written 97,3 %');
    await assertNoSideScroll(page, 'queue');
    await page.screenshot({ path: join(shots, `linkage-queue-${name}.png`), fullPage: true });

    // One review with its breakdown, and the decision.
    const review = page.locator('ul.link-queue li', { has: page.locator('.badge.out-review') }).first();
    assert.equal(await review.count(), 1, 'a review in the queue');
    await Promise.all([page.waitForNavigation(), review.locator('a.open').click()]);
    assert.match(await page.textContent('h1'), /Kết quả đối chiếu #\d+/);
    const rows = page.locator('table.breakdown tbody tr');
    assert.equal(await rows.count(), 7, 'one line per compared field');
    const table = await page.textContent('table.breakdown');
    assert.match(table, /Họ[\s\S]*Tên đệm[\s\S]*Ngày sinh/);
    assert.match(table, /\d+,\d\d/, 'weights written 9,87');
    assert.match(table, /\d\d\/\d\d\/\d{4}/, 'dates of birth dd/mm/yyyy');
    assert.match(await page.textContent('dl.fields'), /10\/03\/2025/);
    await assertNoSideScroll(page, 'result');
    await page.screenshot({ path: join(shots, `linkage-result-${name}.png`), fullPage: true });

    await page.check(`form.decide input[name=verdict][value=${verdict}]`);
    await page.fill('form.decide textarea[name=reason]', 'Đối chiếu với hồ sơ hộ khẩu');
    await Promise.all([page.waitForNavigation(), page.click('form.decide button[type=submit]')]);
    assert.match(page.url(), /done=decided/);
    assert.match(await page.textContent('main'), /Đã ghi quyết định/);
    assert.match(await page.textContent('.decided'), verdict === 'same' ? /cùng một người/ : /không phải cùng một người/);
    assert.match(await page.textContent('.decided'), /Đối chiếu với hồ sơ hộ khẩu/);
    assert.equal(await page.locator('form.decide').count(), 0, 'no second decision');
    await assertNoSideScroll(page, 'decided result');
    await page.screenshot({ path: join(shots, `linkage-decided-${name}.png`), fullPage: true });

    // In English on the switch.
    await page.goto(base + `/lang/en?next=${encodeURIComponent(new URL(page.url()).pathname)}`);
    assert.match(await page.textContent('h1'), /Linkage result/);
    assert.match(await page.textContent('table.breakdown thead'), /Sector value/);
    await page.goto(base + '/lang/vi?next=/linkage');
    await page.close();
  });
}

test('the auditor has no link to the review queue', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1280, height: 900 } });
  await signIn(page, 'auditor');
  assert.equal(await page.locator('nav.sidenav a[href="/linkage"]').count(), 0);
  const res = await page.goto(base + '/linkage');
  assert.equal(res.status(), 403);
  await page.close();
});
