/**
 * A circuit breaker for one store. After `failureThreshold` consecutive failures it opens:
 * calls fail at once instead of waiting on a dead server. After `openMs` it lets exactly one
 * probe through (half-open); the probe's success closes it, its failure opens it again.
 * Only the probe can close it: a call admitted before the breaker opened that answers late
 * says nothing about the store now, and closing on it would skip what a closing probe does
 * (the tiered store moves its cache generation there). Every transition is reported, so an
 * operator sees when and for how long a store was out.
 *
 * @module
 */

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. @default 3 */
  failureThreshold?: number;
  /** How long it stays open before a probe may go through, in ms. @default 2000 */
  openMs?: number;
}

export class CircuitBreaker {
  #state: BreakerState = "closed";
  #failures = 0;
  #openedAt = 0;
  #probing = false;
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #clock: () => number;
  readonly #onTransition: (from: BreakerState, to: BreakerState) => void;

  constructor(options: BreakerOptions, clock: () => number, onTransition: (from: BreakerState, to: BreakerState) => void) {
    this.#threshold = options.failureThreshold ?? 3;
    this.#openMs = options.openMs ?? 2000;
    this.#clock = clock;
    this.#onTransition = onTransition;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Epoch ms at which the breaker last opened (0 if never). */
  get openedAt(): number {
    return this.#openedAt;
  }

  /**
   * "call": go ahead. "probe": go ahead as the one half-open probe (report its outcome).
   * "reject": fail now without calling.
   */
  admit(): "call" | "probe" | "reject" {
    if (this.#state === "closed") return "call";
    if (this.#probing) return "reject";
    if (this.#state === "open" && this.#clock() - this.#openedAt < this.#openMs) return "reject";
    this.#move("half-open");
    this.#probing = true;
    return "probe";
  }

  /** @param admitted what `admit()` answered for this call */
  success(admitted: "call" | "probe"): void {
    if (admitted === "probe") {
      this.#probing = false;
      this.#failures = 0;
      this.#move("closed");
    } else if (this.#state === "closed") {
      this.#failures = 0;
    }
  }

  /**
   * The call ended in a way that says nothing about the store (it refused the call's input):
   * neither a success nor a failure. A half-open probe's slot is freed for the next call.
   */
  release(admitted: "call" | "probe"): void {
    if (admitted === "probe") this.#probing = false;
  }

  failure(admitted: "call" | "probe"): void {
    if (admitted === "probe") {
      this.#probing = false;
      this.#openedAt = this.#clock();
      this.#move("open");
      return;
    }
    // A late failure of a call from before the breaker opened changes nothing now.
    if (this.#state !== "closed") return;
    this.#failures++;
    if (this.#failures >= this.#threshold) {
      this.#openedAt = this.#clock();
      this.#move("open");
    }
  }

  #move(to: BreakerState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#onTransition(from, to);
  }
}
