import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openMeter } from '../../src/meter/open-meter.js';
import { startSimulatedPdu } from '../../src/meter/simulated-pdu.js';
import { freePort } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs the real CLI (through tsx on src/) and collects exit code and output. */
async function nebula(args: string[], ready?: RegExp, whileRunning?: () => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (ready?.test(stderr)) {
      ready = undefined;
      void (whileRunning ?? (async () => undefined))().finally(() => child.kill('SIGINT'));
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

test('`nebula meter read` prints one decoded sample from the simulated PDU as JSON', async () => {
  const pdu = await startSimulatedPdu({ port: 0 });
  try {
    const { code, stdout, stderr } = await nebula(['meter', 'read', pdu.spec]);
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout) as { meter: string; sample: Record<string, number>; units: Record<string, string> };
    assert.equal(out.meter, pdu.spec);
    assert.ok(out.sample.voltage_v! >= 229 && out.sample.voltage_v! <= 231);
    assert.equal(typeof out.sample.frequency_hz, 'number');
    assert.equal(out.units.power_w, 'W');
  } finally {
    await pdu.close();
  }
});

test('`nebula meter read` of an unreachable PDU exits 3 with the reason and a hint', async () => {
  const port = await freePort();
  const { code, stderr } = await nebula(['meter', 'read', `modbus://127.0.0.1:${port}`]);
  assert.equal(code, 3);
  assert.match(stderr, new RegExp(`nebula: cannot connect to the meter at 127\\.0\\.0\\.1:${port}: connection refused\\n  hint: nothing listens on port ${port}`));
});

test('`nebula meter read` with a bad spec exits 2 naming the spec', async () => {
  const { code, stderr } = await nebula(['meter', 'read', 'modbus://pdu?unit=x']);
  assert.equal(code, 2);
  assert.match(stderr, /bad meter spec "modbus:\/\/pdu\?unit=x": unit=x is not an integer/);
});

test('`nebula meter read none` exits 2: nothing to read is bad usage, not an outage', async () => {
  const { code, stderr } = await nebula(['meter', 'read', 'none']);
  assert.equal(code, 2);
  assert.match(stderr, /^nebula: meter spec "none" reads nothing\n {2}hint: give a meter to read/);
});

test('`nebula meter simulate` serves until SIGINT and exits 0', async () => {
  const port = await freePort();
  let power = 0;
  const { code, stderr } = await nebula(['meter', 'simulate', '--port', String(port), '--idle-w', '4'], /Ctrl-C to stop/, async () => {
    const meter = await openMeter(`modbus://127.0.0.1:${port}`);
    power = (await meter.read()).device_power_w ?? 0;
    await meter.close();
  });
  assert.equal(code, 0, stderr);
  assert.ok(power >= 4, `device power ${power} W with --idle-w 4`);
  assert.match(stderr, new RegExp(`simulated Gude EPC 1105 on modbus://127\\.0\\.0\\.1:${port}`));
});
