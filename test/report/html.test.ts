import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildReport } from '../../src/report/compare.js';
import { serialize } from '../../src/report/export/html.js';
import { loadRuns } from '../../src/report/load.js';

const CHROMIUM = '/usr/bin/chromium';
const required = process.env.NEBULA_REQUIRE_DOCKER === '1';
const skip = !existsSync(CHROMIUM) && !required ? 'chromium not installed (set NEBULA_REQUIRE_DOCKER=1 to require it)' : false;
const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'runs');

/** Renders a file in headless Chromium and returns the DOM after its scripts ran. */
async function dumpDom(file: string, profile: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      `--user-data-dir=${profile}`, '--virtual-time-budget=5000', '--dump-dom', pathToFileURL(file).href],
    { timeout: 90_000, maxBuffer: 64 << 20 },
  );
  return stdout;
}

const attr = (dom: string, id: string, name: string): string | undefined =>
  new RegExp(`id="${id}"[^>]*?${name}="([^"]*)"|${name}="([^"]*)"[^>]*?id="${id}"`).exec(dom)?.slice(1).find((x) => x !== undefined);

const runs = await loadRuns([path.join(fixtures, 'pi-default-20240503-120000'), path.join(fixtures, 'vm-default-20240504-090000')]);
const html = serialize({ report: buildReport(runs, { resamples: 300 }), runs });

// Needs no browser, so it runs even where the rendering test below is skipped.
test('the HTML report is self-contained: no URL but the SVG namespace outside the run facts, nothing loaded or fetched', () => {
  // The run facts name the target and the meter as text (a table cell); no other URL may appear.
  const text = html.replace(/<td>[^<]*<\/td>/g, '');
  const urls = (text.match(/https?:\/\/[^'"\s)]+/g) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');
  assert.deepEqual(urls, [], 'the page must not reference anything outside itself');
  assert.ok(!/<script[^>]+src=|<link[^>]+href=|<img|@import|url\(|fetch\(|XMLHttpRequest/.test(html), 'the page must not fetch anything');
  assert.ok(html.length < 200_000, `${html.length} bytes`);
});

test('the HTML report renders every chart in headless Chromium without a script error', { skip }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nebula-html-'));
  try {
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    const dom = await dumpDom(file, path.join(dir, 'profile'));
    assert.equal(/data-js-error="[^"]*"/.exec(dom)?.[0], undefined, 'a script error was caught');
    // Pi (metered): 2 functions × (startup, total, energy) + 3 box plots + timeline = 10; VM: 2 × 2 + 2 = 6.
    assert.match(dom, /data-charts-rendered="16"/);
    for (const id of ['t0-f0-startup', 't0-f0-total', 't0-f0-energy', 't0-f1-startup', 't0-box-startup', 't0-box-energy', 't0-timeline', 't1-f1-total', 't1-box-total']) {
      assert.equal(attr(dom, id, 'data-rendered'), 'true', `${id} not rendered`);
    }
    // 3 runtimes × 4 fibonacci inputs; 3 box plots × 5 marks; 611 power samples (below the downsampling threshold).
    assert.equal(attr(dom, 't0-f0-startup', 'data-points'), '12');
    assert.equal(attr(dom, 't0-box-startup', 'data-points'), '15');
    assert.equal(attr(dom, 't0-timeline', 'data-points'), '611');
    assert.equal(attr(dom, 't1-f0-energy', 'data-rendered'), undefined, 'the VM had no meter: no energy chart');
    assert.match(dom, /<polyline /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
