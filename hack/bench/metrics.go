package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// families is one scrape of a /metrics endpoint.
type families map[string]*dto.MetricFamily

// scrape reads a Prometheus text endpoint.
func scrape(ctx context.Context, url string) (families, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: HTTP %d", url, resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return fams, nil
}

// matches reports whether m carries every label of want (name=value).
func matches(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k {
				found = l.GetValue() == v
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sum adds the counters, gauges (or histogram and summary counts) of a family whose labels match want.
func (f families) sum(name string, want map[string]string) float64 {
	fam, ok := f[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range fam.GetMetric() {
		if !matches(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		case m.Summary != nil:
			total += float64(m.GetSummary().GetSampleCount())
		}
	}
	return total
}

// has reports whether the family exists.
func (f families) has(name string) bool { _, ok := f[name]; return ok }

// names lists the families whose name contains every part.
func (f families) names(parts ...string) []string {
	var out []string
	for n := range f {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(n, p)
		}
		if ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// histogram is a cumulative histogram (the buckets of matching series added up).
type histogram struct {
	bounds []float64 // upper bounds, ascending, +Inf last
	counts []float64 // cumulative counts
	count  float64
	sum    float64
}

func (f families) histogram(name string, want map[string]string) histogram {
	var h histogram
	fam, ok := f[name]
	if !ok {
		return h
	}
	acc := map[float64]float64{}
	for _, m := range fam.GetMetric() {
		if m.Histogram == nil || !matches(m, want) {
			continue
		}
		hh := m.GetHistogram()
		h.count += float64(hh.GetSampleCount())
		h.sum += hh.GetSampleSum()
		for _, b := range hh.GetBucket() {
			acc[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	for b := range acc {
		h.bounds = append(h.bounds, b)
	}
	slices.Sort(h.bounds)
	if len(h.bounds) == 0 || !math.IsInf(h.bounds[len(h.bounds)-1], 1) {
		h.bounds = append(h.bounds, math.Inf(1))
		acc[math.Inf(1)] = h.count
	}
	for _, b := range h.bounds {
		h.counts = append(h.counts, acc[b])
	}
	return h
}

// minus is the histogram of the observations between an earlier scrape and this one.
func (h histogram) minus(earlier histogram) histogram {
	out := histogram{bounds: h.bounds, count: h.count - earlier.count, sum: h.sum - earlier.sum}
	for i, b := range h.bounds {
		prev := 0.0
		if j := slices.Index(earlier.bounds, b); j >= 0 {
			prev = earlier.counts[j]
		}
		out.counts = append(out.counts, h.counts[i]-prev)
	}
	return out
}

// quantile estimates a quantile as PromQL's histogram_quantile does: linear interpolation within
// the bucket; the highest finite bound when it falls in the +Inf bucket.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 || len(h.bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.count
	for i, c := range h.counts {
		if c < rank {
			continue
		}
		if math.IsInf(h.bounds[i], 1) {
			if i == 0 {
				return math.NaN()
			}
			return h.bounds[i-1]
		}
		lower, below := 0.0, 0.0
		if i > 0 {
			lower, below = h.bounds[i-1], h.counts[i-1]
		}
		if c == below {
			return h.bounds[i]
		}
		return lower + (h.bounds[i]-lower)*(rank-below)/(c-below)
	}
	return h.bounds[len(h.bounds)-1]
}

func (h histogram) mean() float64 {
	if h.count == 0 {
		return math.NaN()
	}
	return h.sum / h.count
}

func newGet(ctx context.Context, url string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
}

// scalarOf is the single number of a query result: a scalar or a one-sample vector.
func scalarOf(v model.Value) (float64, bool) {
	switch x := v.(type) {
	case *model.Scalar:
		return float64(x.Value), true
	case model.Vector:
		if len(x) == 1 {
			return float64(x[0].Value), true
		}
	}
	return 0, false
}
