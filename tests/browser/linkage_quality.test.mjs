// Data quality and proposed register changes in a real browser (issue 13): a demo register, a
// civil-registry death row and birth row imported with `eid link import`, the register matched
// against itself with `eid link dedupe`. The province officer follows the ops dashboard's link
// to the quality page ("đúng, đủ, sạch, sống" for the province and each district, how each is
// computed, numbers 1.234,5 and percentages 98,7 %), opens a worklist, confirms the death
// (dates dd/mm/yyyy) and sees the person's linkage block — in Vietnamese, at desktop width and
// at 390 px, where no page scrolls sideways. Screenshots go to
// tests/browser/screenshots/linkage-quality-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const AT = '2025-03-15T09:00:00+07:00';
const MAPPING = 'row_id=row_id,personal_id=personal_id,surname=surname,middle_name=middle_name,given_name=given_name,birth_date=birth_date,sex=sex,unit=unit';
let server, browser, base, dir, db, out = '';
const accounts = {};
const dead = [];

function eid(args) {
  const r = spawnSync(bin, ['--db', db, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `eid ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-linkq-'));
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
  assert.ok(accounts.province, `credentials printed:\n${out}`);
  const province = accounts.province.username.split('.').pop();
  const persons = join(dir, 'persons.csv');
  eid(['export', 'persons', '--unit', province, '--out', persons]);
  // Two living persons die (one for each width); a child is born in the first one's commune.
  const rows = readFileSync(persons, 'utf8').split('\n').slice(1).filter((l) => l && !l.includes('"'))
    .map((l) => l.split(',')).filter((f) => f[14] === 'alive');
  for (const f of rows.slice(0, 2)) dead.push({ id: f[0], unit: f[7] });
  const header = 'row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,death_date';
  const deaths = rows.slice(0, 2).map((f, i) => `KT-${i},${f[0]},${f[1]},${f[2]},${f[3]},${f[4]},${f[5]},${f[7]},2025-02-2${i}`);
  writeFileSync(join(dir, 'deaths.csv'), [header, ...deaths].join('\n') + '\n');
  writeFileSync(join(dir, 'births.csv'), `row_id,personal_id,surname,middle_name,given_name,birth_date,sex,unit,mother_birth_date\nKS-1,,Y,Thị,Blin,2025-03-01,F,${rows[0][7]},1999-07-14\n`);
  eid(['link', 'source', '--name', 'khai-tu', '--kind', 'civil_deaths', '--mapping', MAPPING]);
  eid(['link', 'source', '--name', 'khai-sinh', '--kind', 'civil_births', '--mapping', MAPPING]);
  assert.match(eid(['link', 'import', '--source', 'khai-tu', join(dir, 'deaths.csv'), '--received', '2025-03-10']), /2 proposed/);
  assert.match(eid(['link', 'import', '--source', 'khai-sinh', join(dir, 'births.csv'), '--received', '2025-03-10']), /1 proposed/);
  assert.match(eid(['link', 'dedupe']), /persons: \d+ suspected duplicate pairs/);
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

for (const [width, name, k] of [[1280, 'desktop', 0], [390, 'phone', 1]]) {
  test(`the province officer reads data quality and confirms a death (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'province');
    await page.goto(base + '/ops');
    await Promise.all([page.waitForNavigation(), page.click('a#link-quality')]);
    assert.match(await page.textContent('h1'), /Chất lượng dữ liệu/);
    const cards = page.locator('.quality-scores section.score');
    assert.equal(await cards.count(), 4);
    const text = await page.textContent('.quality-scores');
    assert.match(text, /Đúng[\s\S]*Đủ[\s\S]*Sạch[\s\S]*Sống/);
    assert.match(text, /\d+,\d\u00a0%/, 'scores written 98,7 %');
    assert.match(await page.textContent('main'), /\d\.\d{3}/, 'a population written 1.234');
    assert.ok((await page.locator('table.quality-units tbody tr').count()) >= 1, 'one line per district');
    assert.match(await page.textContent('dl.methods'), /dân số/);
    await assertNoSideScroll(page, 'quality');
    await page.screenshot({ path: join(shots, `linkage-quality-${name}.png`), fullPage: true });

    // The persons lowering "live": the two deaths still counted as living.
    await Promise.all([page.waitForNavigation(), page.click('.score-live a.worklist')]);
    assert.match(await page.textContent('h1'), /Danh sách cần xử lý: Sống/);
    assert.ok((await page.locator('table.worklist tbody tr').count()) >= 2 - k);
    await assertNoSideScroll(page, 'worklist');
    await page.screenshot({ path: join(shots, `linkage-quality-worklist-${name}.png`), fullPage: true });

    // The death proposal, confirmed.
    await page.goto(base + '/linkage/proposals?kind=death');
    const card = page.locator(`ul.proposals li:has-text("${dead[k].id}")`);
    assert.equal(await card.count(), 1, 'the death is proposed');
    assert.match(await card.textContent(), /Ngày mất: 2\d\/02\/2025/);
    await assertNoSideScroll(page, 'proposals');
    await page.screenshot({ path: join(shots, `linkage-quality-proposals-${name}.png`), fullPage: true });
    await Promise.all([page.waitForNavigation(), card.locator('a.open').click()]);
    await page.fill('form.decide textarea[name=reason]', 'Giấy chứng tử đã đối chiếu');
    await Promise.all([page.waitForNavigation(), page.click('form.decide button[value=confirm]')]);
    assert.match(page.url(), /done=confirmed/);
    assert.match(await page.textContent('main'), /Đã xác nhận đề xuất/);
    assert.match(await page.textContent('ul.events'), /Giấy chứng tử đã đối chiếu/);
    assert.equal(await page.locator('form.decide').count(), 0, 'no second decision');
    await assertNoSideScroll(page, 'proposal');
    await page.screenshot({ path: join(shots, `linkage-quality-confirmed-${name}.png`), fullPage: true });

    // The person page: dead, with the source that said so.
    await page.goto(base + `/persons/${dead[k].id}`);
    assert.match(await page.textContent('section.link-person'), /Đối chiếu dữ liệu ngành[\s\S]*khai-tu/);
    assert.match(await page.textContent('main'), /Đã mất|đã mất|Chết|chết/);
    await assertNoSideScroll(page, 'person');
    await page.screenshot({ path: join(shots, `linkage-quality-person-${name}.png`), fullPage: true });
    await page.close();
  });
}

test('a birth is proposed with what the registry book lacked', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 390, height: 900 } });
  await signIn(page, 'province');
  await page.goto(base + '/linkage/proposals?kind=birth');
  const card = page.locator('ul.proposals li').first();
  assert.match(await card.textContent(), /Y Thị Blin, 01\/03\/2025/);
  assert.match(await card.textContent(), /Số định danh[\s\S]*Ngày sinh của cha[\s\S]*Quê quán/);
  await assertNoSideScroll(page, 'births');
  await page.screenshot({ path: join(shots, 'linkage-quality-birth-phone.png'), fullPage: true });
  await page.close();
});
