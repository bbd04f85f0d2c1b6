/** A delay that can be cut short: `wake()` resolves it at once and clears its timer. */
export function wakeableDelay(ms: number): { done: Promise<void>; wake: () => void } {
  let wake!: () => void;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = (): void => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, wake };
}
