/** Command-line flags of the bench harnesses: `--name VALUE` numbers and `--name` switches. */
const argv = process.argv.slice(2);

/** The number after `--name`, or `fallback` when the flag is absent; a non-number is an error naming the flag. */
export function numberArg(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number, got "${argv[i + 1] ?? ''}"`);
  return value;
}

/** Whether the switch `--name` was given. */
export function flagArg(name: string): boolean {
  return argv.includes(`--${name}`);
}

/** The text after `--name`, or `fallback` when the flag is absent. */
export function stringArg(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (argv[i + 1] ?? fallback);
}
