package analysis

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/sync/singleflight"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Labels by which a grouped query's samples name their release.
const (
	namespaceLabel = "namespace"
	appLabel       = "app"
)

// groupKey names the release a sample of a grouped result belongs to.
type groupKey struct {
	namespace, app, revision string
}

func (k groupKey) String() string {
	return fmt.Sprintf("%s=%q, %s=%q, %s=%q", namespaceLabel, k.namespace, appLabel, k.app, slogatev1alpha1.RevisionPromLabel, k.revision)
}

// isGrouped reports whether a query template renders the same text for every release: it names
// none of .Namespace, .App, .Revision and .StableRevision (it may name .Window and .Args). Such a
// query is answered once per address and interval for all releases, and each release takes its
// own sample from the result.
func isGrouped(text string, vars Vars) (bool, error) {
	other := vars
	other.Namespace, other.App, other.Revision, other.StableRevision =
		vars.Namespace+"-other", vars.App+"-other", vars.Revision+"-other", vars.StableRevision+"-other"
	a, err := Render(text, vars)
	if err != nil {
		return false, err
	}
	b, err := Render(text, other)
	if err != nil {
		return false, err
	}
	return a == b, nil
}

// groupedValue extracts a release's number from the result of a grouped query. The samples of a
// grouped result name their release by slogate_io_revision (and namespace and app where the query
// keeps them); the release's sample is the one whose labels among those three all equal the
// release's. A result whose samples have no slogate_io_revision label is not keyed: it is one
// number for every release (a query with fixed selectors, like the seed's) and must have exactly
// one sample. found is false when a keyed result has no sample for the release.
func groupedValue(v model.Value, key groupKey) (f float64, found bool, problem string) {
	vec, ok := v.(model.Vector)
	if !ok {
		f, problem = singleValue(v)
		return f, true, problem
	}
	var keyed bool
	var match model.Vector
	for _, s := range vec {
		rev, hasRev := s.Metric[slogatev1alpha1.RevisionPromLabel]
		if !hasRev {
			continue
		}
		keyed = true
		ns, hasNS := s.Metric[namespaceLabel]
		app, hasApp := s.Metric[appLabel]
		if string(rev) == key.revision && (!hasNS || string(ns) == key.namespace) && (!hasApp || string(app) == key.app) {
			match = append(match, s)
		}
	}
	if !keyed {
		f, problem = singleValue(vec)
		return f, true, problem
	}
	switch len(match) {
	case 0:
		return 0, false, fmt.Sprintf("no sample for %s among the %d of the grouped result", key, len(vec))
	case 1:
		f, problem = singleValue(match)
		return f, true, problem
	default:
		return 0, true, fmt.Sprintf("%d samples for %s in the grouped result where one was expected: group by namespace, app and %s", len(match), key, slogatev1alpha1.RevisionPromLabel)
	}
}

// resultCache shares the answer to a grouped query among every release that asks for it at the
// same evaluation time: one query per (address, query, evaluation time). Callers evaluate grouped
// queries at interval boundaries only (metricRun.evaluationTime), so that is one query per
// interval, however many releases ask. Errors are shared too, so a Prometheus that is down costs
// one timeout per interval, not one per release.
type resultCache struct {
	flight singleflight.Group

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	address, query string
	at             int64 // unix nanoseconds of the evaluation time
}

type cacheEntry struct {
	value   model.Value
	err     error
	expires time.Time
}

func newResultCache() *resultCache {
	return &resultCache{entries: map[cacheKey]cacheEntry{}}
}

// query answers q as evaluated at at, from the cache or from one shared query. An entry is kept
// for two of the metric's intervals after at: long enough for every release due at that boundary
// to be served, however late in the interval it is called.
func (c *resultCache) query(ctx context.Context, r *metricRun, q string, at time.Time) (model.Value, error) {
	key := cacheKey{address: r.address, query: q, at: at.UnixNano()}
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return e.value, e.err
	}
	flightKey := strings.Join([]string{r.address, fmt.Sprint(key.at), q}, "\x00")
	res, _, _ := c.flight.Do(flightKey, func() (any, error) {
		// The query is shared: one caller's cancellation must not fail the others.
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
		defer cancel()
		start := time.Now()
		v, err := r.querier.Query(qctx, q, at)
		observeQuery(time.Since(start), err)
		if err == nil && qctx.Err() != nil {
			err = qctx.Err()
		}
		e := cacheEntry{value: v, err: err, expires: at.Add(2 * r.interval)}
		c.mu.Lock()
		for k, old := range c.entries {
			if old.expires.Before(at) {
				delete(c.entries, k)
			}
		}
		c.entries[key] = e
		c.mu.Unlock()
		return e, nil
	})
	e = res.(cacheEntry)
	return e.value, e.err
}

// len is the number of cached results.
func (c *resultCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
