package install_test

import "time"

// Every timeout and period of this package, in one place.
const (
	// applyTimeout bounds one `kubectl apply -k` of an overlay, CRDs included. Measured: about 3 s.
	applyTimeout = 2 * time.Minute
	// firstAdmissionTimeout bounds a freshly started webhook, with an empty Secret, answering the
	// apiserver: issue, publish caBundle, serve. Measured: about 1 s.
	firstAdmissionTimeout = 60 * time.Second
	// webhookStopGrace is how long the webhook gets to stop after SIGTERM.
	webhookStopGrace = 10 * time.Second
	// applyPeriod is how often the rotation test applies a Deployment (issue 6: every 200 ms).
	applyPeriod = 200 * time.Millisecond
	// rotationRunTimeout bounds the rotation test's apply loop waiting for two serving-certificate
	// renewals and one completed CA roll. With the durations of rotationArgs that takes about 40 s.
	rotationRunTimeout = 3 * time.Minute
	// webhookDownTimeout bounds the requests of the webhook-down test; a request to a webhook that
	// is down fails within the configurations' timeoutSeconds (5 s), or at once when refused.
	webhookDownTimeout = 30 * time.Second
	// releaseTimeout bounds a whole release under policy_enforced_app.yaml's policy (two weights,
	// 3 s of pauses, a promotion of 2 replicas on kwok: about 8 s).
	releaseTimeout = 2 * time.Minute
	// refusalTimeout bounds a canary refused by the cluster's policy showing in the Release and an
	// Event: past the policy's canaryReadyTimeout (30 s) the release must have stopped.
	refusalTimeout = time.Minute
)
