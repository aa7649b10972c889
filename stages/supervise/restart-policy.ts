/**
 * When to start a stage again after it exited on its own. At once is wrong for a stage that cannot start
 * (a port taken, a store refusing it): it would be started again and again in a tight loop. So each quick
 * exit doubles the wait, up to `maxDelayMs`, and a stage that exited quickly `crashLoopAfter` times in a row
 * is reported as crash-looping (it is still tried, at the longest wait). A stage that ran for
 * `healthyAfterMs` before it exited starts over from the shortest wait.
 */
export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  healthyAfterMs: number;
  crashLoopAfter: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  healthyAfterMs: 30_000,
  crashLoopAfter: 5,
};

export interface RestartState {
  /** Exits in a row, each before the stage had run `healthyAfterMs`. */
  quickExits: number;
  delayMs: number;
  crashLooping: boolean;
}

export const FIRST_START: RestartState = { quickExits: 0, delayMs: 0, crashLooping: false };

/** The state after an instance that ran for `ranForMs` exited. */
export function afterExit(previous: RestartState, ranForMs: number, policy: RestartPolicy): RestartState {
  if (ranForMs >= policy.healthyAfterMs) return { quickExits: 0, delayMs: policy.initialDelayMs, crashLooping: false };
  const quickExits = previous.quickExits + 1;
  const delayMs = quickExits === 1 ? policy.initialDelayMs : Math.min(policy.maxDelayMs, Math.max(policy.initialDelayMs, previous.delayMs * 2));
  return { quickExits, delayMs, crashLooping: quickExits >= policy.crashLoopAfter };
}
