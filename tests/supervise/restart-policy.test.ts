import { expect, test } from "bun:test";
import { afterExit, DEFAULT_RESTART_POLICY, FIRST_START } from "../../stages/supervise/restart-policy";

test("quick exits double the wait up to the cap and are reported as crash-looping; a healthy run starts over", () => {
  let state = FIRST_START;
  const delays: number[] = [];
  const looping: boolean[] = [];
  for (let i = 0; i < 9; i++) {
    state = afterExit(state, 1000, DEFAULT_RESTART_POLICY);
    delays.push(state.delayMs);
    looping.push(state.crashLooping);
  }
  expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  expect(looping).toEqual([false, false, false, false, true, true, true, true, true]);
  state = afterExit(state, DEFAULT_RESTART_POLICY.healthyAfterMs, DEFAULT_RESTART_POLICY);
  expect(state).toEqual({ quickExits: 0, delayMs: 500, crashLooping: false });
});
