/** The clock interface runtimes stamp with (the server's anchored RealtimeClock, or a test double). */
export interface Clock {
  nowUs(): number;
}
