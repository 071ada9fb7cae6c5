package dataplane

import (
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// decideN decides n requests of the plan's first route and returns its stats.
func decideN(t *testing.T, s *sender, n int) RouteStats {
	t.Helper()
	if len(s.plan.Routes) == 0 {
		t.Fatal("plan has no route")
	}
	rp := &s.plan.Routes[0]
	for range n {
		s.decideLocked(rp)
	}
	return s.stats[rp.Route].clone()
}

func TestSenderSplit(t *testing.T) {
	seedRoute := func(stable, canary int32) gatewayv1.HTTPRoute {
		return makeRoute("payments-api-route").rule(backend("payments-api-stable", stable), backend("payments-api-canary", canary)).obj()
	}
	pods := func(stable, canary int) []corev1.Pod {
		var out []corev1.Pod
		for range stable {
			out = append(out, makePod("s").rev("payments-api", "r1", "h1").ready().obj())
		}
		for range canary {
			out = append(out, makePod("c").rev("payments-api", "r2", "h2").ready().obj())
		}
		return out
	}
	pinned := []corev1.Service{
		makeService("payments-api-stable", map[string]string{"app": "payments-api", "slogate.io/revision": "r1"}),
		makeService("payments-api-canary", map[string]string{"app": "payments-api", "slogate.io/revision": "r2"}),
	}
	unpinned := []corev1.Service{makeService("payments-api-stable", map[string]string{"app": "payments-api"}), pinned[1]}

	tests := map[string]struct {
		route         gatewayv1.HTTPRoute
		services      []corev1.Service
		pods          []corev1.Pod
		requests      int
		wantBackends  map[string]int64
		wantRevisions map[string]int64
		wantCodes     map[int]int64
		wantNoBackend int64
	}{
		"90/10 over pinned services": {
			route: seedRoute(90, 10), services: pinned, pods: pods(3, 1), requests: 1000,
			wantBackends:  map[string]int64{"payments-api-stable": 900, "payments-api-canary": 100},
			wantRevisions: map[string]int64{"r1": 900, "r2": 100},
			wantCodes:     map[int]int64{},
		},
		"95/5 over an unpinned stable service sends the canary its pods' share of stable too": {
			// The canary gets 5 % + 95 % * 1/4 = 28.75 %.
			route: seedRoute(95, 5), services: unpinned, pods: pods(3, 1), requests: 4000,
			wantBackends:  map[string]int64{"payments-api-stable": 3800, "payments-api-canary": 200},
			wantRevisions: map[string]int64{"r1": 2850, "r2": 1150},
			wantCodes:     map[int]int64{},
		},
		"weights 100/0 send nothing to the canary": {
			route: seedRoute(100, 0), services: pinned, pods: pods(2, 1), requests: 500,
			wantBackends:  map[string]int64{"payments-api-stable": 500},
			wantRevisions: map[string]int64{"r1": 500},
			wantCodes:     map[int]int64{},
		},
		"weights 0/0: the gateway answers 500": {
			route: seedRoute(0, 0), services: pinned, pods: pods(2, 1), requests: 10,
			wantBackends:  map[string]int64{},
			wantRevisions: map[string]int64{},
			wantCodes:     map[int]int64{500: 10},
			wantNoBackend: 10,
		},
		"a canary without ready pods: its share gets 503": {
			route: seedRoute(50, 50), services: pinned, pods: pods(2, 0), requests: 100,
			wantBackends:  map[string]int64{"payments-api-stable": 50, "payments-api-canary": 50},
			wantRevisions: map[string]int64{"r1": 50},
			wantCodes:     map[int]int64{503: 50},
			wantNoBackend: 50,
		},
		"a missing service: its share gets 500": {
			route: seedRoute(75, 25), services: pinned[:1], pods: pods(2, 1), requests: 100,
			wantBackends:  map[string]int64{"payments-api-stable": 75, "payments-api-canary": 25},
			wantRevisions: map[string]int64{"r1": 75},
			wantCodes:     map[int]int64{500: 25},
			wantNoBackend: 25,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			plan := Resolve([]gatewayv1.HTTPRoute{tc.route}, tc.services, tc.pods)
			addrs := map[Group]string{}
			for _, w := range plan.Workloads {
				addrs[w.Group] = "127.0.0.1:1"
			}
			s := newSender(logr.Discard(), 50)
			s.update(plan, addrs)
			got := decideN(t, s, tc.requests)
			if got.Sent != int64(tc.requests) {
				t.Errorf("sent: want %d, got %d", tc.requests, got.Sent)
			}
			if diff := cmp.Diff(tc.wantBackends, got.Backends); diff != "" {
				t.Errorf("backends (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRevisions, got.Revisions); diff != "" {
				t.Errorf("revisions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCodes, got.Codes); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			if got.NoBackend != tc.wantNoBackend {
				t.Errorf("no backend: want %d, got %d", tc.wantNoBackend, got.NoBackend)
			}
		})
	}
}

func TestSenderSplitHoldsAcrossWeightChanges(t *testing.T) {
	services := []corev1.Service{
		makeService("payments-api-stable", map[string]string{"app": "payments-api", "slogate.io/revision": "r1"}),
		makeService("payments-api-canary", map[string]string{"app": "payments-api", "slogate.io/revision": "r2"}),
	}
	pods := []corev1.Pod{
		makePod("s").rev("payments-api", "r1", "h1").ready().obj(),
		makePod("c").rev("payments-api", "r2", "h2").ready().obj(),
	}
	s := newSender(logr.Discard(), 50)
	addrs := map[Group]string{stableGroup: "127.0.0.1:1", canaryGroup: "127.0.0.1:2"}

	var before RouteStats
	for _, w := range []struct {
		stable, canary int32
		requests       int
	}{{95, 5, 200}, {75, 25, 400}, {50, 50, 100}, {0, 100, 50}} {
		route := makeRoute("payments-api-route").rule(backend("payments-api-stable", w.stable), backend("payments-api-canary", w.canary)).obj()
		s.update(Resolve([]gatewayv1.HTTPRoute{route}, services, pods), addrs)
		now := decideN(t, s, w.requests)
		window := now.Since(before)
		before = now
		wantCanary := int64(w.requests) * int64(w.canary) / 100
		if got := window.Backends["payments-api-canary"]; got < wantCanary-1 || got > wantCanary+1 {
			t.Errorf("weights %d/%d: want %d±1 canary requests of %d, got %d", w.stable, w.canary, wantCanary, w.requests, got)
		}
	}
}

func TestWeightedInterleaves(t *testing.T) {
	w := weighted{current: map[string]int64{}}
	var got []int
	for range 10 {
		got = append(got, w.pick("r", []string{"a", "b"}, []int64{4, 1}))
	}
	// Smooth: the light item comes in the middle of each cycle, not after a run of the heavy one.
	want := []int{0, 0, 1, 0, 0, 0, 0, 1, 0, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("picks (-want +got):\n%s", diff)
	}
}
