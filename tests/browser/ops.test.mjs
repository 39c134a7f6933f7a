// The Project 06 operations console in a real browser: Debian's chromium driven by playwright-core.
// Starts `eid demo` on a temporary SQLite database and port 0 (the demo simulates weeks of
// applications and activations in the province, with a peak campaign in its last days), issues
// API tokens with `eid admin issue-token`, and, when the demo has set none, sets the quotas
// through the API as the levels above would: the ministry gives the province its targets, the
// province splits them to its districts, the district to its communes. It also records the peak
// campaign and reporting schedules with a few reports. Then it walks the officers' pages: the
// province's and the district's dashboards, a quota's page with its chart, a split by hand that
// no longer adds up, the leaderboard, the commune's outreach list with a contact outcome, its
// exports and printable view, the proposed register change, periodic reports and campaigns.
// Screenshots go to tests/browser/screenshots/ops-*.png.
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

let server, browser, base, dir, db;
/** Whether this test set the province's quotas (the demo had none). */
let createdQuotas = false;
const accounts = {};
const tokens = {};
/** Quota ids: the province's two, and the district's share of the first. */
const quotas = {};

/** A day in Vietnam's calendar, `days` from today, as YYYY-MM-DD. */
const vnDay = (days = 0) => new Date(Date.now() + 7 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);

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

function issueToken(role) {
  const r = spawnSync(bin, ['--db', db, 'admin', 'issue-token', '--username', accounts[role].username, '--name', 'ops browser test'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  tokens[role] = r.stdout.trim().split('\n').pop().trim();
}

/** Sets (or resets) a quota through the API and returns it. */
async function setQuota(role, unit, metric, target, reason) {
  const r = await api(role, 'POST', '/api/v1/ops/quotas', {
    unit, metric, target, start: vnDay(-44), deadline: vnDay(30), reason,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.quota;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-ops-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  server = spawn(bin, ['--db', db, '--listen', '127.0.0.1:0', 'demo', '--people', '12000', '--seed', '11', '--history-applications', '2500'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
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
  assert.ok(accounts.ministry && accounts.province && accounts.district && accounts.commune, `credentials printed:\n${out}`);
  for (const role of ['ministry', 'province', 'district', 'commune']) issueToken(role);
  const province = accounts.province.username.split('.').pop();
  const district = accounts.district.username.split('.').pop();

  // The province's quotas: set by the ministry when the demo has set none. The first target is
  // a placeholder; the second, from the province's own figures, makes the applications "at
  // risk" (about 95 % by the deadline at the last week's rate) and level 2 "behind" (80 %).
  let list = await api('province', 'GET', '/api/v1/ops/quotas');
  assert.equal(list.status, 200, JSON.stringify(list.body));
  if (list.body.quotas.length === 0) {
    createdQuotas = true;
    for (const [metric, share] of [['applications_collected', 0.95], ['level2_activated', 0.8]]) {
      const first = await setQuota('ministry', province, metric, 1000, 'Kế hoạch triển khai Đề án 06 năm nay');
      const target = Math.round((first.done + first.rate_7d * first.days_left) / share);
      await setQuota('ministry', province, metric, Math.max(target, first.done + 10), 'Điều chỉnh theo văn bản của Bộ Công an');
    }
    list = await api('province', 'GET', '/api/v1/ops/quotas');
  }
  const mine = list.body.quotas;
  quotas.applications = mine.find((q) => q.metric === 'applications_collected')?.id ?? mine[0].id;
  quotas.level2 = mine.find((q) => q.metric === 'level2_activated')?.id ?? mine[0].id;
  // Splits: the province to its districts, the district to its communes.
  for (const id of new Set([quotas.applications, quotas.level2])) {
    const q = await api('province', 'GET', `/api/v1/ops/quotas/${id}`);
    if (q.body.children.length === 0) {
      const s = await api('province', 'POST', `/api/v1/ops/quotas/${id}/split`, { mode: 'proportional' });
      assert.equal(s.status, 200, JSON.stringify(s.body));
    }
  }
  const parent = await api('province', 'GET', `/api/v1/ops/quotas/${quotas.applications}`);
  quotas.district = parent.body.children.find((c) => c.unit === district).id;
  const split = await api('district', 'POST', `/api/v1/ops/quotas/${quotas.district}/split`, { mode: 'proportional' });
  assert.equal(split.status, 200, JSON.stringify(split.body));

  // The peak campaign the demo simulated, when it is not recorded yet.
  const camps = await api('province', 'GET', '/api/v1/ops/campaigns');
  if (camps.body.campaigns.length === 0) {
    const c = await api('province', 'POST', '/api/v1/ops/campaigns', {
      name: 'Đợt cao điểm 21 ngày', slogan: 'Đến từng nhà, rà từng người', unit: province, start: vnDay(-10), end: vnDay(10),
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
  }
  // Reporting duties towards the province, when the demo has none: weekly from six weeks ago,
  // and monthly.
  const reports = await api('province', 'GET', '/api/v1/ops/reports');
  const schedules = reports.body.schedules.length > 0 ? [] : [
    ['Sở Thông tin và Truyền thông', province, 'weekly', 2],
    [`Công an ${accounts.district.unitName}`, district, 'weekly', 1],
    ['Bảo hiểm xã hội tỉnh', province, 'monthly', 5],
  ];
  for (const [agency, unit, schedule, grace] of schedules) {
    const r = await api('province', 'POST', '/api/v1/ops/reports/schedules', { agency, unit, schedule, grace_days: grace, start: vnDay(-42) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // The first period and the last two are reported today: late, then on time or late.
    for (const day of [vnDay(-42), vnDay(-8), vnDay(-1)]) {
      await api('province', 'POST', `/api/v1/ops/reports/${r.body.id}/submit`, { period_day: day, body: `Báo cáo kỳ ${day}: đã thu nhận hồ sơ theo kế hoạch.` });
    }
  }

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

test('the province dashboard shows each quota with its status, the ranking, late reports and the campaign', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1440, height: 1000 } });
  await signIn(page, 'province');
  await Promise.all([page.waitForNavigation(), page.click('.sidenav a[href="/ops"]')]);
  assert.match(await page.textContent('.sidenav a.active'), /Điều hành/);
  const cards = page.locator('article.quota-card');
  const nCards = await cards.count();
  assert.ok(nCards >= 2, `a card per quota (${nCards})`);
  const text = await page.textContent('main');
  assert.match(text, /Hồ sơ định danh mức 2 thu nhận/);
  assert.match(text, /Tài khoản mức 2 kích hoạt/);
  assert.match(text, /\d+,\d\d\u00a0%/, 'percentages with two decimals, written the Vietnamese way');
  assert.match(text, /Tốc độ cần đạt/);
  assert.match(text, /Dự báo ngày đạt/);
  assert.match(text, /số ngày lịch sau ngày này, tính đến hết ngày hạn/i);
  const badges = await page.locator('article.quota-card header .badge').allTextContents();
  for (const badge of badges) assert.match(badge, /Đã đạt|Đúng tiến độ|Có nguy cơ chậm|Chậm tiến độ/);
  if (createdQuotas) assert.deepEqual(badges.sort(), ['Chậm tiến độ', 'Có nguy cơ chậm'], 'the statuses the targets were set for');
  assert.equal(await page.locator('article.quota-card svg.chart .ch-required').count(), nCards);
  // The districts ranked, with the change since yesterday.
  const ranks = await page.locator('table.ranking').first().locator('tbody tr').count();
  assert.ok(ranks >= 5, `the districts are ranked (${ranks})`);
  assert.match(text, /Báo cáo trễ hạn, chưa nộp/);
  assert.ok((await page.locator('table.late-reports tbody tr').count()) >= 1, 'late or missing reports are listed');
  assert.match(await page.textContent('table.late-reports'), /Chưa nộp/);
  assert.match(text, /Đến từng nhà, rà từng người/);
  assert.match(text, /Trước đợt/);
  await page.screenshot({ path: join(shots, 'ops-dashboard-province.png'), fullPage: true });

  // A day in the past: the figures of that day.
  await page.fill('form.asof input[name=as_of]', vnDay(-14));
  await Promise.all([page.waitForNavigation(), page.click('form.asof button')]);
  assert.match(page.url(), /as_of=/);
  assert.match(await page.textContent('.days-rule'), new RegExp(vnDay(-14).split('-').reverse().join('/')));

  await page.goto(base + '/lang/en?next=/ops');
  assert.match(await page.textContent('h1'), /Project 06 operations/);
  assert.match(await page.textContent('main'), /Required daily rate/);
  await page.screenshot({ path: join(shots, 'ops-dashboard-en.png'), fullPage: true });
  await page.goto(base + '/lang/vi?next=/ops');
  await page.close();
});

test('a quota page draws the chart against the required line, with capacity, history and forms', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1440, height: 1000 } });
  await signIn(page, 'province');
  await page.goto(base + `/ops/quotas/${quotas.applications}`);
  const chart = page.locator('.quota-main svg.chart');
  assert.equal(await chart.count(), 1);
  for (const cls of ['ch-required', 'ch-actual', 'ch-forecast', 'ch-today', 'ch-target']) {
    assert.equal(await chart.locator(`.${cls}`).count(), 1, cls);
  }
  const box = await chart.boundingBox();
  assert.ok(box.width > 700 && box.height > 250, `the chart is large enough to read: ${JSON.stringify(box)}`);
  const text = await page.textContent('main');
  assert.match(text, /Năng lực thu nhận/);
  assert.match(text, /Thiết bị đang hoạt động/);
  assert.match(text, /Lịch sử thay đổi chỉ tiêu/);
  assert.match(text, /Điều chỉnh theo văn bản của Bộ Công an|Kế hoạch/);
  assert.match(await page.textContent('table.children tfoot'), /Khớp với chỉ tiêu/);
  // The province splits but does not change its own target: the ministry does.
  assert.equal(await page.locator('form#target').count(), 0);
  assert.equal(await page.locator('form#split-manual').count(), 1);
  await page.screenshot({ path: join(shots, 'ops-quota.png'), fullPage: true });

  await page.goto(base + `/ops/quotas/${quotas.applications}/leaderboard`);
  assert.match(await page.textContent('.rule'), /tối đa 120/);
  assert.ok((await page.locator('table.board tbody tr').count()) >= 5);
  await page.screenshot({ path: join(shots, 'ops-leaderboard.png'), fullPage: true });
  await page.close();
});

test('the district changes its share by hand and the province sees that the communes no longer add up', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1366, height: 1000 } });
  await signIn(page, 'province');
  await page.goto(base + `/ops/quotas/${quotas.district}`);
  assert.equal(await page.locator('p.mismatch').count(), 0);
  // The province is the level above the district: it may change the district's target.
  assert.equal(await page.locator('form#target').count(), 1);
  const first = page.locator('form#split-manual input.part').first();
  const before = Number(await first.inputValue());
  await first.fill(String(before + 25));
  await Promise.all([page.waitForNavigation(), page.click('form#split-manual button[type=submit]')]);
  // Not saved until the officer confirms what is over.
  assert.match(await page.textContent('#split-confirm'), /vượt 25 so với chỉ tiêu/);
  assert.equal(await page.locator('p.mismatch').count(), 0);
  await page.screenshot({ path: join(shots, 'ops-quota-split-confirm.png'), fullPage: true });
  await page.check('#split-confirm input[name=accept_difference]');
  await Promise.all([page.waitForNavigation(), page.click('form#split-manual button[type=submit]')]);
  const text = await page.textContent('main');
  assert.match(text, /Đã phân bổ chỉ tiêu/);
  assert.match(await page.textContent('p.mismatch'), /thừa 25/);
  assert.match(await page.textContent('table.children tfoot'), /Không khớp/);
  await page.screenshot({ path: join(shots, 'ops-quota-mismatch.png'), fullPage: true });
  // The district's card on its dashboard warns too.
  await page.goto(base + `/ops?unit=${accounts.district.username.split('.').pop()}`);
  assert.match(await page.textContent(`article#quota-${quotas.district}`), /thừa 25/);
  await page.close();
});

test('the commune officer lists people to reach, records a death, exports and prints the list', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1366, height: 1000 } });
  await signIn(page, 'commune');
  await page.goto(base + '/ops/outreach?missing=no_application');
  const rows = page.locator('table.outreach tbody tr');
  const n = await rows.count();
  assert.ok(n >= 10, `people to reach (${n})`);
  assert.match(await page.textContent('h1'), /Danh sách vận động/);
  await page.screenshot({ path: join(shots, 'ops-outreach.png'), fullPage: false });

  // Filters: nobody without a phone is listed as having a smartphone.
  await page.selectOption('select[name=phone_type]', 'none');
  await Promise.all([page.waitForNavigation(), page.click('form.outreach-filters button')]);
  for (const t of await page.locator('table.outreach tbody td:nth-child(5) .badge').allTextContents()) assert.equal(t, 'Không có ĐT');
  await page.goto(base + '/ops/outreach?missing=no_application');

  // Assign the first three to a working group.
  for (let i = 0; i < 3; i += 1) await rows.nth(i).locator('input[type=checkbox]').check();
  await page.fill('form#assign input[name=assignee]', 'Tổ công tác số 3');
  await Promise.all([page.waitForNavigation(), page.click('form#assign button[type=submit]')]);
  assert.match(await page.textContent('main'), /Đã phân công/);
  assert.equal(await page.locator('table.outreach tbody tr', { hasText: 'Tổ công tác số 3' }).count(), 3);

  // A death reported by the neighbours becomes a proposed register change.
  const row = page.locator('table.outreach tbody tr').first();
  const id = (await row.locator('.mono').first().textContent()).trim();
  await row.locator('details summary').click();
  await row.locator('select[name=outcome]').selectOption('dead');
  await row.locator('input[name=note]').fill('Hàng xóm báo đã mất tháng trước');
  await page.screenshot({ path: join(shots, 'ops-outreach-form.png'), fullPage: false });
  await Promise.all([page.waitForNavigation(), row.locator('form.contact-form button').click()]);
  assert.match(await page.textContent('main'), /tạo đề xuất điều chỉnh/);
  await page.screenshot({ path: join(shots, 'ops-outreach-contact.png'), fullPage: false });

  // Exports with the officer's session.
  const csv = await page.request.get(base + '/ops/outreach.csv?missing=no_application');
  assert.equal(csv.status(), 200);
  assert.equal(csv.headers()['content-type'], 'text/csv; charset=utf-8');
  assert.match(await csv.text(), /personal_id,name,birth_date/);
  const xlsx = await page.request.get(base + '/ops/outreach.xlsx?missing=no_application');
  assert.equal(xlsx.status(), 200);
  assert.match(xlsx.headers()['content-type'], /spreadsheetml/);
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK');

  await Promise.all([page.waitForNavigation(), page.click('a[href^="/ops/outreach/print"]')]);
  assert.match(await page.textContent('h1'), /DANH SÁCH CÔNG DÂN CẦN VẬN ĐỘNG/);
  assert.match(await page.textContent('.signatures'), /Người lập danh sách/);
  assert.equal(await page.locator('.sidenav').count(), 0, 'the printable list has no menu');
  await page.screenshot({ path: join(shots, 'ops-outreach-print.png'), fullPage: true });
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('.print-tools').isVisible(), false);
  await page.screenshot({ path: join(shots, 'ops-outreach-print-media.png'), fullPage: true });
  await page.close();

  // The district confirms the proposal: the person is dead in the register.
  const dist = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1366, height: 900 } });
  await signIn(dist, 'district');
  await dist.goto(base + '/ops/proposals');
  const prow = dist.locator('table.proposals tbody tr', { hasText: id });
  assert.match(await prow.textContent(), /Đã mất/);
  await dist.screenshot({ path: join(shots, 'ops-proposals.png'), fullPage: true });
  await Promise.all([dist.waitForNavigation(), prow.locator('button[data-decision=confirm]').click()]);
  assert.match(await dist.textContent('main'), /Đã xác nhận/);
  const person = await api('district', 'GET', `/api/v1/persons/${id}`);
  assert.equal(person.body.life_status.state, 'dead');
  await dist.close();
});

test('periodic reports show who is on time, late or missing, and a report is submitted', async () => {
  let page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1366, height: 1000 } });
  await signIn(page, 'province');
  await page.goto(base + '/ops/reports');
  assert.ok((await page.locator('tr.schedule').count()) >= 3);
  const text = await page.textContent('main');
  assert.match(text, /Đúng hạn/);
  assert.match(text, /Trễ hạn/);
  assert.match(text, /Chưa nộp/);
  await page.screenshot({ path: join(shots, 'ops-reports.png'), fullPage: true });
  await page.close();

  // Only a schedule's own unit submits its reports: the district officer submits the district's.
  page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1366, height: 1000 } });
  await signIn(page, 'district');
  await page.goto(base + '/ops/reports');
  // The first schedule with a period still to report.
  const sched = page.locator('tr.schedule', { has: page.locator('details.submit') }).first();
  const agency = (await sched.locator('td.agency strong').textContent()).trim();
  const missingBefore = Number(await sched.locator('td.missing').textContent());
  await sched.locator('details.submit summary').click();
  await sched.locator('textarea[name=body]').fill('Đã tuyên truyền trên cổng thông tin điện tử tỉnh.');
  await Promise.all([page.waitForNavigation(), sched.locator('details.submit button').click()]);
  assert.match(await page.textContent('main'), /Đã nộp báo cáo/);
  const after = page.locator('tr.schedule', { has: page.locator('td.agency strong', { hasText: agency }) });
  const missingAfter = Number(await after.locator('td.missing').textContent());
  assert.ok(missingAfter <= missingBefore);
  await page.close();
});

test('campaigns compare the rate before and during, and a campaign is added', async () => {
  const page = await browser.newPage({ locale: 'vi-VN', viewport: { width: 1366, height: 900 } });
  await signIn(page, 'district');
  await page.goto(base + '/ops/campaigns');
  assert.match(await page.textContent('table.campaigns'), /Đang diễn ra/);
  await page.fill('input[name=name]', 'Ra quân cuối tuần');
  await page.fill('input[name=slogan]', 'Mỗi người dân một tài khoản');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/ops/campaigns"] button[type=submit]')]);
  assert.match(await page.textContent('main'), /Đã thêm đợt cao điểm/);
  assert.match(await page.textContent('table.campaigns'), /Ra quân cuối tuần/);
  await page.screenshot({ path: join(shots, 'ops-campaigns.png'), fullPage: true });

  await page.goto(base + '/ops');
  await page.screenshot({ path: join(shots, 'ops-dashboard-district.png'), fullPage: true });
  await page.close();
});
