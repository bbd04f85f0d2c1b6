/**
 * The live console: holds the UiState in a reducer fed by the driver feed (batched, ≤ 10 renders/s)
 * and maps keys to driver controls: q stops cleanly, p pauses/resumes.
 */
import { useInput, useStdout } from 'ink';
import { useEffect, useReducer, useState } from 'react';
import type { UiAction, UiState } from './state.js';
import { reduce } from './state.js';
import { Screen, type ScreenSize } from './components.js';

export interface Controls {
  stop(): void;
  pause(): void;
  resume(): void;
  readonly paused: boolean;
}

export interface ConsoleAppProps {
  initial: UiState;
  /** Registers the dispatcher the feed delivers batches to. */
  connect(dispatch: (action: UiAction) => void): void;
  controls: Controls;
  showChart: boolean;
  /** Keys are read only when stdin is a TTY (raw mode). */
  interactive: boolean;
}

export function ConsoleApp({ initial, connect, controls, showChart, interactive }: ConsoleAppProps): React.JSX.Element {
  const [state, dispatch] = useReducer(reduce, initial);
  useEffect(() => connect(dispatch), [connect]);
  const size = useTerminalSize();
  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) {
        dispatch({ type: 'stopping' });
        controls.stop();
      } else if (input === 'p') {
        if (controls.paused) controls.resume();
        else controls.pause();
      }
    },
    { isActive: interactive },
  );
  return <Screen state={state} showChart={showChart} size={size} />;
}

/** The terminal's size, updated on resize (80×24 when stdout is not a terminal). */
function useTerminalSize(): ScreenSize {
  const { stdout } = useStdout();
  const read = (): ScreenSize => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
