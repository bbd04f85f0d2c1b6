import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { ConsoleApp, type Controls } from '../../src/tui/ConsoleApp.js';
import { initialState } from '../../src/tui/state.js';

/** Controls that record what the keys asked for. */
function recordingControls(): Controls & { calls: string[] } {
  const calls: string[] = [];
  let paused = false;
  return {
    calls,
    stop: () => calls.push('stop'),
    pause: () => {
      paused = true;
      calls.push('pause');
    },
    resume: () => {
      paused = false;
      calls.push('resume');
    },
    get paused() {
      return paused;
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('keys: p pauses, p again resumes, q stops the run and the footer says stopping', async () => {
  const controls = recordingControls();
  const { stdin, lastFrame, unmount } = render(
    <ConsoleApp initial={initialState()} connect={() => undefined} controls={controls} showChart={false} interactive={true} />,
  );
  await tick();
  stdin.write('p');
  await tick();
  stdin.write('p');
  await tick();
  stdin.write('x'); // other keys do nothing
  await tick();
  stdin.write('q');
  await tick();
  const frame = lastFrame() ?? '';
  unmount();
  assert.deepEqual(controls.calls, ['pause', 'resume', 'stop']);
  assert.match(frame, /stopping/);
});

test('keys are ignored when stdin is not interactive', async () => {
  const controls = recordingControls();
  const { stdin, unmount } = render(
    <ConsoleApp initial={initialState()} connect={() => undefined} controls={controls} showChart={false} interactive={false} />,
  );
  await tick();
  stdin.write('q');
  await tick();
  unmount();
  assert.deepEqual(controls.calls, []);
});
