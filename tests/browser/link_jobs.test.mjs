// Sector imports as console jobs in a real browser (issue 13), at 390 px: the ministry officer
// opens the import jobs from the review queue, uploads a small sector CSV (with one bad row)
// for the demo's social-insurance source, lands on the job's page and watches it finish — the
// page refreshes itself (meta refresh, no script) until the job is done — then finds the
// rejected row's download. In Vietnamese; nothing scrolls sideways.
// Screenshots go to tests/browser/screenshots/link-jobs-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const AT = '2025-03-15T09:00:00+07:00';
let server, browser, base, dir, db, out = '', upload;
const accounts = {};

function eid(args) {
  const r = spawnSync(bin, ['--db', db, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `eid ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-linkjob-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  server = spawn(bin, ['--db', db, '--listen', '127.0.0.1:0', '--clock-at', AT, 'demo', '--people', '1500', '--history-days', '0'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 180_000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && /linkage: a sector file imported as a job/.test(out)) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  for (const line of out.split('\n')) {
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+(.*?)\s+(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], unitName: m[3], password: m[4] };
  }
  assert.ok(accounts.ministry, `credentials printed:\n${out}`);
  // A small sector file: 40 rows of a noisy copy of the register, and one bad date.
  const persons = join(dir, 'persons.csv');
  const sector = join(dir, 'sector.csv');
  eid(['export', 'persons', '--unit', 'VN', '--out', persons]);
  eid(['gen', 'sector', '--persons', persons, '--out', sector, '--truth', join(dir, 'truth.csv')]);
  const lines = readFileSync(sector, 'utf8').split('\n').slice(0, 41);
  lines.push('BAD-1,,Lê,,An,1990-13-45,M,2024,,,,');
  upload = join(dir, 'bhxh-thang-3.csv');
  writeFileSync(upload, lines.join('\n') + '\n');
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

async function assertNoSideScroll(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(scroll <= inner, `${what}: ${scroll}px wide in a ${inner}px window`);
}

test('the ministry officer uploads a sector file and watches the job finish (390 px)', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 390, height: 844 } });
  await page.goto(base + '/');
  await page.fill('input[name=username]', accounts.ministry.username);
  await page.fill('input[name=password]', accounts.ministry.password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.goto(base + '/linkage');
  await Promise.all([page.waitForNavigation(), page.click('a#link-jobs')]);
  assert.match(await page.textContent('h1'), /Nhập tệp dữ liệu ngành/);
  // The demo's own job is listed, done.
  assert.match(await page.textContent('table.link-jobs'), /bhxh-demo[\s\S]*Hoàn tất/);
  await assertNoSideScroll(page, 'jobs');
  await page.screenshot({ path: join(shots, 'link-jobs-list-phone.png'), fullPage: true });

  await page.selectOption('form.link-job-upload select[name=source]', 'bhxh-demo');
  await page.setInputFiles('form.link-job-upload input[name=file]', upload);
  await Promise.all([page.waitForNavigation(), page.click('form.link-job-upload button[type=submit]')]);
  assert.match(page.url(), /\/linkage\/jobs\/\d+$/);
  assert.match(await page.textContent('h1'), /Lượt nhập #\d+/);
  // The page reloads itself until the job is done; no script drives it.
  await page.waitForSelector('section.link-job[data-state=done]', { timeout: 60_000 });
  const card = await page.textContent('section.link-job');
  assert.match(card, /Hoàn tất/);
  assert.match(card, /40 \/ 40/, 'every good row written');
  assert.match(card, /Khớp\s*\d+/);
  assert.match(card, /15\/03\/2025/, 'the day received, dd/mm/yyyy');
  assert.equal(await page.locator('meta[http-equiv=refresh]').count(), 0, 'a finished job stops refreshing');
  assert.equal(await page.locator('form[action$="/cancel"]').count(), 0, 'nothing to cancel');
  const link = page.locator('a[href$="/rejected.csv"]');
  assert.equal(await link.count(), 1);
  // The download, with the page's session (the CSP allows no script fetch).
  const reply = await page.context().request.get(base + (await link.getAttribute('href')));
  assert.equal(reply.status(), 200);
  assert.match(reply.headers()['content-type'], /^text\/csv/);
  const csv = await reply.text();
  assert.match(csv, /^line,column,reason\n42,birth_date,/);
  await assertNoSideScroll(page, 'job');
  await page.screenshot({ path: join(shots, 'link-jobs-done-phone.png'), fullPage: true });
  await page.close();
});
