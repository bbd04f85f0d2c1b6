/**
 * Entry of the Ink UI, imported lazily by the console (so --ci never loads React or Ink).
 */
import { render } from 'ink';
import type { Driver } from '../console/driver.js';
import { ConsoleApp } from './ConsoleApp.js';
import { feedDriver } from './feed.js';
import { initialState, type UiAction } from './state.js';

export interface TuiHandle {
  /** Final flush, last frame, unmount. */
  close(): Promise<void>;
}

/** Renders the live console for a driver until close(). */
export function renderTui(driver: Driver, dir: string, options: { showChart: boolean }): TuiHandle {
  let dispatch: ((action: UiAction) => void) | null = null;
  const early: UiAction[] = [];
  const feed = feedDriver(driver, dir, (action) => (dispatch ? dispatch(action) : early.push(action)));
  const instance = render(
    <ConsoleApp
      initial={initialState()}
      connect={(d) => {
        dispatch = d;
        for (const a of early.splice(0)) d(a);
      }}
      controls={driver}
      showChart={options.showChart}
      interactive={Boolean(process.stdin.isTTY)}
    />,
    { exitOnCtrlC: false, patchConsole: false },
  );
  return {
    async close(): Promise<void> {
      feed.close();
      // Let React commit the last batch before unmounting, so the final frame shows the end state.
      await new Promise((resolve) => setTimeout(resolve, 50));
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
