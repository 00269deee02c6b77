/**
 * How many guesses a target's run of wrong codes lets through, and which. Wrong codes count per
 * mailbox (targets.ts, mailboxOf) over a window that ends a day after the last one; at most
 * `maxFailures` (OTP_MAX_FAILURES_PER_TARGET) are ever compared in one run, however many come at
 * once, because each guess takes its place in the run (a conditional write) before any comparison.
 *
 * Why two stages: a third party who knows a target can ask for codes and guess them. If every guess
 * counted until the cap, he could lock the owner out for a day with a few sends (maxFailures / code
 * attempts of them). What tells the owner from him is only that the owner receives the code, and
 * that the device that asked for a code holds its otpToken. So the first half of the budget is
 * open to any guess; past it, only the first try of a code bound to its otpToken (sent while the run
 * was past the open half, or by a client that requires the token) is compared, so every further wrong
 * code costs whoever makes it one send of his own, within the send limits, and a guess without the
 * token changes nothing at all. The owner's app, told so (NewCodeRequiredError), sends a new code and
 * verifies it with its otpToken.
 */

/** The places of a run open to any guess: past them, only the first try of a token-bound code. */
export function openGuesses(maxFailures: number): number {
  return Math.ceil(maxFailures / 2);
}

/** A send to a mailbox with this many wrong codes stores a code that only its otpToken can try. */
export function newCodesNeedToken(wrongCodes: number, maxFailures: number): boolean {
  return wrongCodes >= openGuesses(maxFailures);
}
