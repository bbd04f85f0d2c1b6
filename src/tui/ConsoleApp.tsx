/**
 * The live console: holds the UiState in a reducer fed by the driver feed (batched, ≤ 10 renders/s)
 * and maps keys to driver controls: q stops cleanly, p pauses/resumes.
 */
import { useInput } from 'ink';
import { useEffect, useReducer } from 'react';
import type { UiAction, UiState } from './state.js';
import { reduce } from './state.js';
import { Screen } from './components.js';

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
  return <Screen state={state} showChart={showChart} />;
}
