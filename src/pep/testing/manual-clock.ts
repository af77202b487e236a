/** TEST DOUBLE: a clock that moves only when told to. */
import type { Clock } from '../ports.js';

export class ManualClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
