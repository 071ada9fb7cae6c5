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
	// webhookTimeoutSeconds is the webhook configurations' timeoutSeconds as installed; a request
	// to a webhook that is down fails within it.
	webhookDownTimeout = 30 * time.Second
)
