package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/slogate/slogate/e2e/dataplane"
)

// trafficWindow is how far back the traffic line looks.
const trafficWindow = 5 * time.Second

// trafficMeter turns the driver's ever-growing counts into what was sent in the last few seconds.
type trafficMeter struct {
	driver *dataplane.Driver
	route  types.NamespacedName
	// versions names revisions ("v1", "v2") in the line.
	versions map[string]string

	snaps []trafficSnap
}

type trafficSnap struct {
	at    time.Time
	stats dataplane.RouteStats
}

// sample records the counts now and returns those of the last trafficWindow (or less, at first).
func (m *trafficMeter) sample(now time.Time) (dataplane.RouteStats, time.Duration) {
	cur := m.driver.Stats(m.route)
	m.snaps = append(m.snaps, trafficSnap{at: now, stats: cur})
	// Keep the newest snapshot at least trafficWindow old, and those after it.
	for len(m.snaps) > 2 && now.Sub(m.snaps[1].at) >= trafficWindow {
		m.snaps = m.snaps[1:]
	}
	first := m.snaps[0]
	return cur.Since(first.stats), now.Sub(first.at)
}

// line describes a window: "100 req/s: v1 95% · v2 5% · 5xx 0.0%".
func (m *trafficMeter) line(w dataplane.RouteStats, d time.Duration) string {
	if d <= 0 || w.Sent == 0 {
		return "no requests yet"
	}
	var parts []string
	revs := slices.SortedFunc(maps.Keys(w.Revisions), func(a, b string) int {
		return cmp.Or(cmp.Compare(m.name(a), m.name(b)), cmp.Compare(a, b))
	})
	for _, r := range revs {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", m.name(r), 100*w.Share(w.Revisions[r])))
	}
	var errs int64
	for code, n := range w.Codes {
		if code >= 500 {
			errs += n
		}
	}
	parts = append(parts, fmt.Sprintf("5xx %.1f%%", 100*w.Share(errs)))
	if w.NoBackend > 0 {
		parts = append(parts, fmt.Sprintf("answered by the gateway %d", w.NoBackend))
	}
	if w.Failed > 0 {
		parts = append(parts, fmt.Sprintf("no answer %d", w.Failed))
	}
	return fmt.Sprintf("%.0f req/s: %s", float64(w.Sent)/d.Seconds(), strings.Join(parts, " · "))
}

// name is the version name of a revision, or the revision.
func (m *trafficMeter) name(rev string) string {
	if v, ok := m.versions[rev]; ok {
		return v
	}
	return rev
}
