package main

import (
	"fmt"
	"math"
)

// The seed's schedule and checks (shared/seed): setWeight 5, pause 180 s, then analysis with
// success-rate-check (interval 1m, failureLimit 2, result >= 99.5 over the app-wide 5m rate).
const (
	seedWeight        = 0.05
	seedPause         = 180.0 // seconds
	seedInterval      = 60.0
	seedFailureLimit  = 2
	seedWindow        = 300.0
	seedThresholdLoss = 0.005 // 1 - 99.5 %
)

type seedResult struct {
	summary     string
	explanation string
}

// seedBest computes the earliest rollback the seed's configuration allows for a canary failing
// errors of its requests, from the moment it takes traffic (t0), with every delay of scraping,
// scheduling and writing taken as zero:
//   - its analysis starts after the 180 s pause; Argo Rollouts measures at once, then every 1m;
//   - failureLimit 2 rolls back at the third failed measurement, two intervals after the first;
//   - its query is not scoped to the canary: the app's error ratio over 5m is
//     weight * errors * min(τ, 5m)/5m after τ seconds of failing (the canary's series starts at
//     t0), and fails the check once that exceeds 0.5 %.
func seedBest(cfg rollbackConfig, measured float64) seedResult {
	e := cfg.failingErrors
	// τ at which the app-wide 5m ratio first exceeds the threshold.
	need := seedWindow * seedThresholdLoss / (seedWeight * e)
	if need > seedWindow {
		return seedResult{
			summary: "never rolls back",
			explanation: fmt.Sprintf("**The seed's configuration at best (computed):** at 5 %% weight, a canary failing %.0f %% of its requests moves the app-wide "+
				"error ratio its query measures by %.2f %%, under the 0.5 %% its `result[0] >= 99.5` allows: the seed never rolls it back.", 100*e, 100*seedWeight*e),
		}
	}
	first := seedPause
	for first < need {
		first += seedInterval
	}
	rollback := first + seedFailureLimit*seedInterval
	return seedResult{
		summary: fmt.Sprintf("≥ %.0f s (%.1f min); ≥ %.0f s after its first failed measurement", rollback, rollback/60, rollback-first),
		explanation: fmt.Sprintf("**The seed's configuration at best (computed, every delay of scraping and scheduling taken as zero):** the canary takes 5 %% "+
			"at t0 and the analysis starts after the 180 s pause (Argo Rollouts measures at once, then every 1m). The seed's success-rate query is "+
			"app-wide over 5m, so a canary failing %.0f %% of its requests raises the measured error ratio to 5 %% × %.0f %% × min(τ, 300 s)/300 s "+
			"after τ seconds, over the 0.5 %% threshold once τ > %.0f s: the first failed measurement is at t0 + %.0f s. failureLimit 2 rolls back at "+
			"the third failed measurement, %.0f s later: **t0 + %.0f s (%.1f min)**, %s the median measured above. Even with the pause removed and "+
			"a canary-scoped query, three failed measurements 1m apart take ≥ 120 s after the first. "+
			"slogate's built-in templates (interval 1m, window 2m, failureLimit 1) decide on the second failed measurement: ≥ 60 s after the first.",
			100*e, 100*e, math.Ceil(need), first, seedFailureLimit*seedInterval, rollback, rollback/60, ratio(rollback, measured)),
	}
}

func ratio(a, b float64) string {
	if math.IsNaN(b) || b <= 0 {
		return "against"
	}
	return fmt.Sprintf("%.0f×", a/b)
}
