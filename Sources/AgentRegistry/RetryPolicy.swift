/// How long the heartbeat loop waits after consecutive failures: exponential from `baseMs`, capped at
/// `capMs`, with "equal jitter" (half fixed, half random) so many agents do not retry in step.
struct RetryPolicy: Sendable {
    let baseMs: Int
    let capMs: Int

    /// The un-jittered ceiling after `failures` consecutive failures (1 = the first).
    func ceilingMs(afterFailures failures: Int) -> Int {
        let doublings = min(max(failures - 1, 0), 30)
        let grown = baseMs.multipliedReportingOverflow(by: 1 << doublings)
        return grown.overflow ? capMs : min(capMs, grown.partialValue)
    }

    /// The wait after `failures` consecutive failures: between half the ceiling and the ceiling.
    /// A registry's `Retry-After` lengthens it, but never beyond the cap.
    func delayMs(afterFailures failures: Int, retryAfterMs: Int? = nil, random: Double = Double.random(in: 0...1)) -> Int {
        let ceiling = ceilingMs(afterFailures: failures)
        let jittered = ceiling / 2 + Int(Double(ceiling - ceiling / 2) * min(max(random, 0), 1))
        guard let retryAfterMs else { return jittered }
        return min(capMs, max(jittered, retryAfterMs))
    }
}
