/**
 * Entry of the Ink UI, imported lazily by the console (so --ci never loads React or Ink).
 */
import { render } from 'ink';
import type { Driver } from '../console/driver.js';
import { ConsoleApp } from './ConsoleApp.js';
import { feedDriver } from './feed.js';
import { initialState, type UiAction, type UiState } from './state.js';

export interface TuiHandle {
  /** Final flush, last frame, unmount. */
  close(): Promise<void>;
}

export interface TuiOptions {
  showChart: boolean;
  /** Where frames go (default process.stdout; the console bench passes a fake terminal). */
  stdout?: NodeJS.WriteStream;
  /** Read keys (default: when stdin is a terminal). */
  interactive?: boolean;
  /** Starting state (default: empty). */
  initial?: UiState;
}

/** Renders the live console for a driver until close(). */
export function renderTui(driver: Driver, dir: string, options: TuiOptions): TuiHandle {
  let dispatch: ((action: UiAction) => void) | null = null;
  const early: UiAction[] = [];
  const feed = feedDriver(driver, dir, (action) => (dispatch ? dispatch(action) : early.push(action)));
  const instance = render(
    <ConsoleApp
      initial={options.initial ?? initialState()}
      connect={(d) => {
        dispatch = d;
        for (const a of early.splice(0)) d(a);
      }}
      controls={driver}
      showChart={options.showChart}
      interactive={options.interactive ?? Boolean(process.stdin.isTTY)}
    />,
    { exitOnCtrlC: false, patchConsole: false, ...(options.stdout ? { stdout: options.stdout } : {}) },
  );
  return {
    async close(): Promise<void> {
      feed.close();
      // Let React commit the last batch before unmounting, so the final frame shows the end state.
      await new Promise((resolve) => setTimeout(resolve, 50));
      // waitUntilExit() after unmount() would leave a 'beforeExit' listener behind.
      const exited = instance.waitUntilExit();
      instance.unmount();
      await exited;
    },
  };
}
