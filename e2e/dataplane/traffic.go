package dataplane

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
)

// RouteStats counts what the driver sent on one route. The counts grow for as long as the driver
// runs; Since gives the counts of a window.
type RouteStats struct {
	// Sent counts every request the route's traffic produced, whether or not a backend took it.
	Sent int64
	// Backends counts requests by the Service of the backendRef chosen: its name, or
	// "namespace/name" for a Service outside the route's namespace.
	Backends map[string]int64
	// Revisions counts requests sent to a demo-app by Group.RevisionKey.
	Revisions map[string]int64
	// Groups counts requests sent to a demo-app by group.
	Groups map[Group]int64
	// Codes counts answers by HTTP status code, including those a gateway gives itself
	// (500 for a rule whose backends all weigh 0 or are invalid, 503 for a backend without ready pods).
	Codes map[int]int64
	// NoBackend counts requests a gateway would answer itself (they are in Codes as 500 or 503).
	NoBackend int64
	// Failed counts requests that got no answer: transport errors, a group without a running
	// process, or too many requests in flight.
	Failed int64
}

func newRouteStats() *RouteStats {
	return &RouteStats{Backends: map[string]int64{}, Revisions: map[string]int64{}, Groups: map[Group]int64{}, Codes: map[int]int64{}}
}

func (s *RouteStats) clone() RouteStats {
	return RouteStats{
		Sent: s.Sent, NoBackend: s.NoBackend, Failed: s.Failed,
		Backends: maps.Clone(s.Backends), Revisions: maps.Clone(s.Revisions), Groups: maps.Clone(s.Groups), Codes: maps.Clone(s.Codes),
	}
}

// Since is the counts of s less those of an earlier snapshot of the same route.
func (s RouteStats) Since(before RouteStats) RouteStats {
	sub := func(a, b map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k, v := range a {
			if d := v - b[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}
	out := RouteStats{
		Sent: s.Sent - before.Sent, NoBackend: s.NoBackend - before.NoBackend, Failed: s.Failed - before.Failed,
		Backends: sub(s.Backends, before.Backends), Revisions: sub(s.Revisions, before.Revisions),
		Groups: map[Group]int64{}, Codes: map[int]int64{},
	}
	for k, v := range s.Groups {
		if d := v - before.Groups[k]; d != 0 {
			out.Groups[k] = d
		}
	}
	for k, v := range s.Codes {
		if d := v - before.Codes[k]; d != 0 {
			out.Codes[k] = d
		}
	}
	return out
}

// Share is the fraction of n in the requests sent (0 when nothing was sent).
func (s RouteStats) Share(n int64) float64 {
	if s.Sent == 0 {
		return 0
	}
	return float64(n) / float64(s.Sent)
}

// weighted picks items in proportion to their weights with the smooth weighted round-robin of
// nginx: over any run of picks each item's count is within one of its exact share, and picks of
// different items interleave. The state is kept across plan changes, by key.
type weighted struct {
	current map[string]int64
}

// pick returns the index of the chosen item, or -1 when every weight is 0.
func (w *weighted) pick(prefix string, keys []string, weights []int64) int {
	var total int64
	best := -1
	for i, k := range keys {
		if weights[i] <= 0 {
			continue
		}
		key := prefix + "|" + k
		w.current[key] += weights[i]
		total += weights[i]
		if best < 0 || w.current[key] > w.current[prefix+"|"+keys[best]] {
			best = i
		}
	}
	if best >= 0 {
		w.current[prefix+"|"+keys[best]] -= total
	}
	return best
}

// maxInFlight bounds the requests waiting for an answer (a slow canary at 300 ms and 50 req/s
// holds about 15).
const maxInFlight = 512

// sender sends each route's requests at its rate, split by the plan.
type sender struct {
	log         logr.Logger
	client      *http.Client
	defaultRate float64

	mu       sync.Mutex
	plan     Plan
	addrs    map[Group]string
	rates    map[types.NamespacedName]float64
	tokens   map[types.NamespacedName]float64
	nextRule map[types.NamespacedName]int
	wrr      weighted
	stats    map[types.NamespacedName]*RouteStats
	inFlight chan struct{}
	requests sync.WaitGroup
	// ticks counts the sender's wake-ups, so a test can wait for some to pass.
	ticks atomic.Int64
}

func newSender(log logr.Logger, rate float64) *sender {
	return &sender{
		log:         log,
		defaultRate: rate,
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		},
		addrs:    map[Group]string{},
		rates:    map[types.NamespacedName]float64{},
		tokens:   map[types.NamespacedName]float64{},
		nextRule: map[types.NamespacedName]int{},
		wrr:      weighted{current: map[string]int64{}},
		stats:    map[types.NamespacedName]*RouteStats{},
		inFlight: make(chan struct{}, maxInFlight),
	}
}

// update sets the plan and the address of each group's process.
func (s *sender) update(plan Plan, addrs map[Group]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan = plan
	s.addrs = addrs
	// Forget the round-robin state of backends and groups no longer planned.
	keep := map[string]bool{}
	for _, rp := range plan.Routes {
		for _, rule := range rp.Rules {
			prefix := rp.Route.String() + "|" + strconv.Itoa(rule.Index)
			for _, b := range rule.Backends {
				keep[prefix+"|"+b.Service.String()] = true
				for _, g := range b.Groups {
					keep[prefix+"|"+b.Service.String()+"|"+groupKey(g.Group)] = true
				}
			}
		}
	}
	for k := range s.wrr.current {
		if !keep[k] {
			delete(s.wrr.current, k)
		}
	}
}

func groupKey(g Group) string { return g.String() + "/" + g.PodTemplateHash }

func (s *sender) setRate(route types.NamespacedName, perSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rates[route] = perSecond
}

func (s *sender) routeStats(route types.NamespacedName) RouteStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stats[route]
	if !ok {
		return newRouteStats().clone()
	}
	return st.clone()
}

// tickInterval is how often the sender wakes to send the requests due.
const tickInterval = 10 * time.Millisecond

// run sends until ctx is done, then waits for the requests in flight.
func (s *sender) run(ctx context.Context) {
	defer s.requests.Wait()
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			// After a stall (a loaded machine) send at most a second's worth at once.
			elapsed := min(now.Sub(last), time.Second)
			last = now
			s.sendDue(ctx, elapsed)
			s.ticks.Add(1)
		}
	}
}

// outgoing is one request decided under the lock and sent after it.
type outgoing struct {
	route types.NamespacedName
	group Group
	url   string
	req   Request
}

func (s *sender) sendDue(ctx context.Context, elapsed time.Duration) {
	var out []outgoing
	s.mu.Lock()
	for i := range s.plan.Routes {
		rp := &s.plan.Routes[i]
		rate, ok := s.rates[rp.Route]
		if !ok {
			rate = s.defaultRate
		}
		s.tokens[rp.Route] += rate * elapsed.Seconds()
		for s.tokens[rp.Route] >= 1 {
			s.tokens[rp.Route]--
			if o, ok := s.decideLocked(rp); ok {
				out = append(out, o)
			}
		}
	}
	s.mu.Unlock()

	for _, o := range out {
		select {
		case s.inFlight <- struct{}{}:
		default:
			s.record(o.route, func(st *RouteStats) { st.Failed++ })
			continue
		}
		s.requests.Go(func() {
			defer func() { <-s.inFlight }()
			code, err := s.do(ctx, o)
			if err != nil {
				if ctx.Err() == nil {
					s.log.V(1).Info("request failed", "route", o.route, "group", o.group.String(), "err", err)
				}
				s.record(o.route, func(st *RouteStats) { st.Failed++ })
				return
			}
			s.record(o.route, func(st *RouteStats) { st.Codes[code]++ })
		})
	}
}

// decideLocked picks the rule, backend and group of one request of a route and counts it. It
// returns false when no process is to be called (the gateway answers, or nothing serves).
func (s *sender) decideLocked(rp *RoutePlan) (outgoing, bool) {
	st, ok := s.stats[rp.Route]
	if !ok {
		st = newRouteStats()
		s.stats[rp.Route] = st
	}
	st.Sent++
	if len(rp.Rules) == 0 {
		// A route without a rule that has backends: a gateway answers 500 (or 404).
		st.NoBackend++
		st.Codes[http.StatusInternalServerError]++
		return outgoing{}, false
	}
	ri := s.nextRule[rp.Route] % len(rp.Rules)
	s.nextRule[rp.Route] = ri + 1
	rule := &rp.Rules[ri]
	prefix := rp.Route.String() + "|" + strconv.Itoa(rule.Index)

	keys := make([]string, len(rule.Backends))
	weights := make([]int64, len(rule.Backends))
	for i, b := range rule.Backends {
		keys[i] = b.Service.String()
		weights[i] = int64(b.Weight)
	}
	bi := s.wrr.pick(prefix, keys, weights)
	if bi < 0 {
		// Every backend weighs 0: Gateway API answers 500.
		st.NoBackend++
		st.Codes[http.StatusInternalServerError]++
		return outgoing{}, false
	}
	b := &rule.Backends[bi]
	name := b.Service.Name
	if b.Service.Namespace != rp.Route.Namespace {
		name = b.Service.String()
	}
	st.Backends[name]++
	if len(b.Groups) == 0 {
		// An invalid backend gets 500, a Service without endpoints 503.
		st.NoBackend++
		code := http.StatusServiceUnavailable
		if b.Problem != "no ready pod selected" {
			code = http.StatusInternalServerError
		}
		st.Codes[code]++
		return outgoing{}, false
	}

	gkeys := make([]string, len(b.Groups))
	gweights := make([]int64, len(b.Groups))
	for i, g := range b.Groups {
		gkeys[i] = groupKey(g.Group)
		gweights[i] = int64(g.ReadyPods)
	}
	g := b.Groups[s.wrr.pick(prefix+"|"+keys[bi], gkeys, gweights)].Group
	st.Groups[g]++
	st.Revisions[g.RevisionKey()]++
	addr, ok := s.addrs[g]
	if !ok {
		st.Failed++
		return outgoing{}, false
	}
	return outgoing{route: rp.Route, group: g, url: "http://" + addr, req: rule.Request}, true
}

func (s *sender) record(route types.NamespacedName, f func(*RouteStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stats[route]
	if !ok {
		st = newRouteStats()
		s.stats[route] = st
	}
	f(st)
}

func (s *sender) do(ctx context.Context, o outgoing) (int, error) {
	u := o.url + o.req.Path
	if len(o.req.Query) > 0 {
		q := url.Values{}
		for k, v := range o.req.Query {
			q.Set(k, v)
		}
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, o.req.Method, u, nil)
	if err != nil {
		return 0, fmt.Errorf("building the request: %w", err)
	}
	for k, v := range o.req.Headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sending the request: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
