package analysis

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/analyzer/gate"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// fakePrometheus serves /api/v1/query from a table of responses by query.
type fakePrometheus struct {
	mu    sync.Mutex
	forms []map[string]string
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, map[string]string{"path": r.URL.Path, "query": r.Form.Get("query"), "time": r.Form.Get("time"), "timeout": r.Form.Get("timeout")})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch q := r.Form.Get("query"); q {
	case "good":
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":"a"},"value":[1776247200,"99.5"]}]}}`)
	case "scalar":
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1776247200,"42"]}}`)
	case "nan":
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1776247200,"NaN"]}]}}`)
	case "slow":
		<-r.Context().Done()
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: %s"}`, q)
	}
}

func TestPrometheusClients(t *testing.T) {
	fp := &fakePrometheus{}
	srv := httptest.NewServer(fp)
	t.Cleanup(srv.Close)

	clients := NewPrometheusClients(nil)
	q1, err := clients.QuerierFor(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	q2, _ := clients.QuerierFor(srv.URL)
	q3, _ := clients.QuerierFor(srv.URL + "/prefix")
	if q1 != q2 || q1 == q3 {
		t.Errorf("want one client per address: same address gave %p and %p, another gave %p", q1, q2, q3)
	}

	v, err := q1.Query(t.Context(), "good", t0)
	if err != nil {
		t.Fatal(err)
	}
	if f, problem := singleValue(v); problem != "" || f != 99.5 {
		t.Errorf("good: value %v, problem %q; want 99.5", f, problem)
	}
	v, err = q1.Query(t.Context(), "scalar", t0)
	if err != nil {
		t.Fatal(err)
	}
	if f, problem := singleValue(v); problem != "" || f != 42 {
		t.Errorf("scalar: value %v, problem %q; want 42", f, problem)
	}
	if _, err := q1.Query(t.Context(), "up{", t0); err == nil || !strings.Contains(describeQueryError(err, time.Second), "query failed (bad_data)") {
		t.Errorf("bad query: error %v, want a bad_data error", err)
	}
	if got := fp.forms[0]; got["path"] != "/api/v1/query" || got["query"] != "good" || got["time"] != fmt.Sprint(t0.Unix()) {
		t.Errorf("request %v: want POST /api/v1/query with query=good and time=%d", got, t0.Unix())
	}
}

// TestAnalyzeOverHTTP runs the gate against an HTTP Prometheus: a value, NaN, a bad query, a
// server that does not answer in time, and an address where nothing listens.
func TestAnalyzeOverHTTP(t *testing.T) {
	fp := &fakePrometheus{}
	srv := httptest.NewServer(fp)
	t.Cleanup(srv.Close)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	cases := map[string]struct {
		address     string
		query       string
		wantVerdict slogatev1alpha1.Verdict
		wantMessage string
		wantTimeout bool
	}{
		"value":         {address: srv.URL, query: "good", wantVerdict: slogatev1alpha1.VerdictSuccessful},
		"NaN":           {address: srv.URL, query: "nan", wantVerdict: slogatev1alpha1.VerdictError, wantMessage: "t/m: value is NaN"},
		"bad query":     {address: srv.URL, query: "sum(", wantVerdict: slogatev1alpha1.VerdictError, wantMessage: "t/m: query failed (bad_data)"},
		"timeout":       {address: srv.URL, query: "slow", wantVerdict: slogatev1alpha1.VerdictError, wantMessage: "t/m: query timed out after 200ms", wantTimeout: true},
		"not listening": {address: closed, query: "good", wantVerdict: slogatev1alpha1.VerdictError, wantMessage: "t/m: Prometheus unreachable"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := makeMetric("m").success("result[0] >= 99").query(tc.query).address(tc.address).timeout(200 * time.Millisecond).obj()
			g := New(newReader(t, clusterTemplate("t", specOf(m))), NewPrometheusClients(nil), "")
			res, err := g.Analyze(t.Context(), gate.Request{Release: makeRelease(), Step: stepOf(clusterRef("t")), Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Measurements) != 1 {
				t.Fatalf("%d measurements, want 1", len(res.Measurements))
			}
			got := res.Measurements[0]
			if got.Verdict != tc.wantVerdict || !strings.Contains(got.Message, tc.wantMessage) {
				t.Errorf("verdict %s message %q; want %s with %q", got.Verdict, got.Message, tc.wantVerdict, tc.wantMessage)
			}
			if res.Outcome == gate.Successful && tc.wantVerdict != slogatev1alpha1.VerdictSuccessful {
				t.Errorf("outcome Successful from %s", got.Verdict)
			}
			if tc.wantTimeout {
				fp.mu.Lock()
				last := fp.forms[len(fp.forms)-1]
				fp.mu.Unlock()
				// Prometheus is told the time left, a little under the query's timeout, in a form
				// it parses.
				d, err := model.ParseDuration(last["timeout"])
				if err != nil || time.Duration(d) > 200*time.Millisecond || time.Duration(d) < 100*time.Millisecond {
					t.Errorf("timeout parameter %q (%v), want a Prometheus duration just under 200ms", last["timeout"], err)
				}
			}
		})
	}
}

func TestServerTimeout(t *testing.T) {
	cases := map[time.Duration]string{
		10 * time.Second:                    "10s",
		9800 * time.Millisecond:             "9s",
		90 * time.Second:                    "1m30s",
		199979710 * time.Nanosecond:         "199ms",
		time.Millisecond + time.Microsecond: "1ms",
	}
	for in, want := range cases {
		got := serverTimeout(in).String()
		if got != want {
			t.Errorf("serverTimeout(%s) = %s, want %s", in, got, want)
		}
		if _, err := model.ParseDuration(got); err != nil {
			t.Errorf("Prometheus would not parse %s: %v", got, err)
		}
	}
}
