/**
 * Delay after each failed attempt, in ms. Pay Protocol delivers at 0 s, 15 s, 30 s, 3 min, 5 min and 10 min
 * (reference 4.1), so the first delays are the gaps between those times (15 s, 15 s, 2.5 min, 2 min, 5 min);
 * after them the delays double from 30 min to 16 h: 13 attempts over about 47.6 hours ("about two days").
 * The attempt after the last delay is the last one; if it fails too, the event is dead (a `…/notify` call
 * sends it again).
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  15_000, 15_000, 150_000, 120_000, 300_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 57_600_000, 57_600_000,
];

/** The wait before the next attempt after `failuresSoFar` failures (this one included), or null: dead. */
export function retryDelayMs(schedule: readonly number[], failuresSoFar: number): number | null {
  return failuresSoFar >= 1 && failuresSoFar <= schedule.length ? schedule[failuresSoFar - 1]! : null;
}
