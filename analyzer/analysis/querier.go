package analysis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Querier runs one instant PromQL query at time t.
type Querier interface {
	Query(ctx context.Context, q string, t time.Time) (model.Value, error)
}

// QuerierFactory returns the Querier of a Prometheus address.
type QuerierFactory interface {
	QuerierFor(address string) (Querier, error)
}

// QuerierFactoryFunc adapts a function to a QuerierFactory.
type QuerierFactoryFunc func(address string) (Querier, error)

// QuerierFor calls f.
func (f QuerierFactoryFunc) QuerierFor(address string) (Querier, error) { return f(address) }

// PrometheusClients is a QuerierFactory holding one client_golang Prometheus API client per
// address, made on first use and kept for the life of the process.
type PrometheusClients struct {
	roundTripper http.RoundTripper

	mu      sync.Mutex
	clients map[string]Querier
}

var _ QuerierFactory = (*PrometheusClients)(nil)

// NewPrometheusClients returns a factory of Prometheus clients that send their requests through
// roundTripper (api.DefaultRoundTripper when nil).
func NewPrometheusClients(roundTripper http.RoundTripper) *PrometheusClients {
	if roundTripper == nil {
		roundTripper = api.DefaultRoundTripper
	}
	return &PrometheusClients{roundTripper: roundTripper, clients: map[string]Querier{}}
}

// QuerierFor returns the client of address.
func (c *PrometheusClients) QuerierFor(address string) (Querier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q, ok := c.clients[address]; ok {
		return q, nil
	}
	client, err := api.NewClient(api.Config{Address: address, RoundTripper: c.roundTripper})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", address, err)
	}
	q := &prometheusQuerier{address: address, api: promv1.NewAPI(client)}
	c.clients[address] = q
	return q, nil
}

type prometheusQuerier struct {
	address string
	api     promv1.API
}

// Query runs q at t. When ctx has a deadline, Prometheus is told to give up at the same time.
func (p *prometheusQuerier) Query(ctx context.Context, q string, t time.Time) (model.Value, error) {
	var opts []promv1.Option
	if d, ok := ctx.Deadline(); ok {
		if left := serverTimeout(time.Until(d)); left > 0 {
			opts = append(opts, promv1.WithTimeout(left))
		}
	}
	v, _, _, err := p.api.Query(ctx, q, t, opts...)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", p.address, err)
	}
	return v, nil
}

// serverTimeout rounds the time left down to what Prometheus parses: the client sends
// time.Duration.String(), and Prometheus reads a float of seconds or a duration of whole units
// (9s, 250ms), so 9.8s or 199.97ms would be refused as bad_data. Whole seconds from a second up,
// whole milliseconds below.
func serverTimeout(left time.Duration) time.Duration {
	if left >= time.Second {
		return left.Truncate(time.Second)
	}
	return left.Truncate(time.Millisecond)
}

// describeQueryError says why a query got no answer, for a measurement's message.
func describeQueryError(err error, timeout time.Duration) string {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var promErr *promv1.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("query timed out after %s: %v", timeout, err)
	case errors.As(err, &opErr), errors.As(err, &dnsErr):
		return fmt.Sprintf("Prometheus unreachable: %v", err)
	case errors.As(err, &promErr):
		return fmt.Sprintf("query failed (%s): %v", promErr.Type, err)
	default:
		return fmt.Sprintf("query failed: %v", err)
	}
}
