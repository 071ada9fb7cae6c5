package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/e2e/cluster"
)

// TestDemoLookAround runs the demo until it says it keeps running, then looks around as its summary
// suggests and as an operator would: the plugin, slogate's metrics, the dashboard's queries, the
// docs' queries and health checks. Then it interrupts the demo and checks that nothing is left.
func TestDemoLookAround(t *testing.T) {
	r := startDemo(t, "--fast")
	r.mustWaitOutput(t, demoTimeout, runningLine)
	out := r.out.String()
	s := mustCheckStory(t, out)
	prom := mustSubmatch(t, out, promLine)[1]
	m := mustSubmatch(t, out, metricsLine)
	analyzerMetrics, webhookMetrics := m[1], m[2]
	v2, v3 := "payments-api-"+s.v2, "payments-api-"+s.v3

	t.Run("kubectl slogate as the summary says", func(t *testing.T) {
		list := mustRunPlugin(t, s.kubeconfig, "slogate", "list", "-A")
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^demo\s+` + v2 + `\s+payments-api\s+Succeeded\s`),
			regexp.MustCompile(`(?m)^demo\s+` + v3 + `\s+payments-api\s+RolledBack\s`),
		} {
			if !want.MatchString(list) {
				t.Errorf("kubectl slogate list -A does not show %q:\n%s", want, list)
			}
		}
		status := mustRunPlugin(t, s.kubeconfig, "slogate", "status", "payments-api", "-n", "demo")
		if !strings.Contains(status, "Release:") || !strings.Contains(status, v3) || !strings.Contains(status, "RolledBack") {
			t.Errorf("kubectl slogate status payments-api -n demo does not show release %s RolledBack:\n%s", v3, status)
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		for _, target := range []struct{ name, url string }{{"analyzer", analyzerMetrics}, {"webhook", webhookMetrics}} {
			body := mustGet(t, target.url)
			path := filepath.Join(t.TempDir(), target.name+".metrics")
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), "promtool", "check", "metrics")
			cmd.Stdin = bytes.NewReader(body)
			res, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(res)) > 0 {
				t.Errorf("promtool check metrics on the %s's /metrics (%d bytes, kept in %s): %v\n%s", target.name, len(body), path, err, res)
			} else {
				t.Logf("promtool check metrics: the %s's %d metric families are clean", target.name, len(mustParseMetrics(t, body)))
			}
		}
	})

	t.Run("slogate's metrics tell the story", func(t *testing.T) {
		az := mustParseMetrics(t, mustGet(t, analyzerMetrics))
		wh := mustParseMetrics(t, mustGet(t, webhookMetrics))
		for _, c := range []struct {
			fams   map[string]*dto.MetricFamily
			name   string
			labels map[string]string
			min    float64
			max    float64
		}{
			{az, "slogate_release_phase", map[string]string{"namespace": "demo", "release": v2, "phase": "Succeeded"}, 1, 1},
			{az, "slogate_release_phase", map[string]string{"namespace": "demo", "release": v2, "phase": "Progressing"}, 0, 0},
			{az, "slogate_release_phase", map[string]string{"namespace": "demo", "release": v3, "phase": "RolledBack"}, 1, 1},
			{az, "slogate_release_canary_weight", map[string]string{"namespace": "demo", "release": v3}, 0, 0},
			{az, "slogate_release_promotions_total", map[string]string{"reason": "Promoted"}, 1, 1},
			{az, "slogate_release_rollbacks_total", map[string]string{"reason": "AnalysisFailed"}, 1, 1},
			// v2: two analysis steps of two metrics that need two Successful measurements each.
			{az, "slogate_analysis_measurements_total", map[string]string{"verdict": "Successful"}, 8, 1e9},
			// v3: failureLimit 2, so three Failed measurements of its success rate.
			{az, "slogate_analysis_measurements_total", map[string]string{"verdict": "Failed"}, 3, 1e9},
			{az, "slogate_analysis_query_duration_seconds", map[string]string{"result": "ok"}, 10, 1e9},
			{az, "slogate_release_reconcile_duration_seconds", nil, 1, 1e9},
			{wh, "slogate_admission_decisions_total", map[string]string{"kind": "Deployment", "decision": "labelled"}, 1, 1e9},
			{wh, "slogate_admission_decisions_total", map[string]string{"kind": "Deployment", "decision": "hold"}, 2, 1e9},
			{wh, "slogate_admission_decisions_total", map[string]string{"kind": "RolloutPolicy", "decision": "allowed"}, 1, 1e9},
		} {
			got, ok := sampleValue(c.fams[c.name], c.labels)
			switch {
			case !ok:
				t.Errorf("%s%v: no such sample", c.name, c.labels)
			case got < c.min || got > c.max:
				t.Errorf("%s%v = %v, want within [%v, %v]", c.name, c.labels, got, c.min, c.max)
			}
		}
	})

	t.Run("the dashboard's queries answer", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(root, "manifests", "dashboards", "slogate.json"))
		if err != nil {
			t.Fatal(err)
		}
		exprs, err := dashboardQueries(data)
		if err != nil {
			t.Fatalf("reading the dashboard: %v", err)
		}
		if len(exprs) < 10 {
			t.Fatalf("found %d queries in the dashboard, want every panel's", len(exprs))
		}
		for _, q := range exprs {
			// Every panel must show data after a demo run: its series exist.
			res := mustQuery(t, prom, grafanaVars.Replace(q.expr))
			if len(res) == 0 {
				t.Errorf("panel %q: %s returned no series", q.panel, q.expr)
			}
			// The counts say what the demo did: one release promoted, one rolled back, none live.
			if want, ok := map[string]float64{"Promotions": 1, "Rollbacks": 1, "Live releases": 0}[q.panel]; ok {
				if len(res) != 1 || res[0] != want {
					t.Errorf("panel %q shows %v, want %v", q.panel, res, want)
				}
			}
		}
	})

	t.Run("the queries of docs/metrics.md are valid", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
		if err != nil {
			t.Fatal(err)
		}
		qs := markdownQueries(string(data))
		if len(qs) < 5 {
			t.Fatalf("found %d queries in docs/metrics.md", len(qs))
		}
		for _, q := range qs {
			_ = mustQuery(t, prom, q) // valid: Prometheus evaluates it; some have no series after a demo
		}
	})

	t.Run("the Argo CD health checks of docs/gitops.md", func(t *testing.T) {
		mustCheckArgoHealth(t, s.kubeconfig, v2, v3)
	})

	// Ctrl-C, as the demo's last line says.
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupting the demo: %v", err)
	}
	if code := r.mustExit(t, stopTimeout); code != 0 {
		t.Errorf("after Ctrl-C the demo exited with status %d, want 0", code)
	}
	if !stoppedLine.MatchString(r.out.String()) {
		t.Errorf("the demo did not say it stopped everything (want %q)", stoppedLine)
	}
	mustBeGone(t, s.kubeconfig, prom, analyzerMetrics, webhookMetrics)
}

func mustSubmatch(t *testing.T, s string, re *regexp.Regexp) []string {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("the demo did not print %q", re)
	}
	return m
}

// mustRunPlugin runs the real kubectl with args as a user who followed the summary: KUBECONFIG set,
// bin/ first on PATH (where kubectl finds kubectl-slogate).
func mustRunPlugin(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out := mustRunKubectl(t, kubeconfig, args...)
	t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
	return out
}

// mustRunKubectl is mustRunPlugin without logging the output.
func mustRunKubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	kubectl, err := cluster.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig,
		"PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func mustGet(t *testing.T, u string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", u, resp.Status, err, body)
	}
	return body
}

func mustParseMetrics(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing metrics: %v", err)
	}
	return fams
}

// sampleValue is the value of the sample of f whose labels include want: a gauge's or counter's
// value, a histogram's sample count.
func sampleValue(f *dto.MetricFamily, want map[string]string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// grafanaVars stands in for the dashboard's variables: Grafana's interval and range, and "All" for
// the namespace.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__range", "15m", "$namespace", ".*")

type panelQuery struct{ panel, expr string }

// dashboardQueries lists the PromQL of every panel target of a Grafana dashboard, rows included.
func dashboardQueries(data []byte) ([]panelQuery, error) {
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	var out []panelQuery
	var walk func([]json.RawMessage) error
	walk = func(ps []json.RawMessage) error {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, panelQuery{panel: p.Title, expr: tg.Expr})
				}
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(d.Panels)
}

// markdownQueries lists the queries of the ```promql blocks of a Markdown page: lines up to the next
// comment or blank line make one query.
func markdownQueries(md string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	in := false
	for _, l := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(l, "```promql"):
			in = true
		case in && strings.HasPrefix(l, "```"):
			flush()
			in = false
		case in && (strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#")):
			flush()
		case in:
			cur = append(cur, l)
		}
	}
	return out
}

// mustQuery runs an instant query against Prometheus's HTTP API and returns the value of each
// series (one value for a scalar); a query Prometheus refuses fails the test.
func mustQuery(t *testing.T, prom, q string) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, prom+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("querying %s: %v", prom, err)
	}
	defer resp.Body.Close()
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("query %q: decoding the answer: %v", q, err)
	}
	if res.Status != "success" {
		t.Errorf("query %q: %s", q, res.Error)
		return nil
	}
	var values []float64
	switch res.Data.ResultType {
	case "scalar":
		var sample [2]any
		if err := json.Unmarshal(res.Data.Result, &sample); err != nil {
			t.Fatalf("query %q: %v", q, err)
		}
		values = append(values, parseSampleValue(t, sample[1]))
	case "vector":
		var series []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(res.Data.Result, &series); err != nil {
			t.Fatalf("query %q: %v", q, err)
		}
		for _, s := range series {
			values = append(values, parseSampleValue(t, s.Value[1]))
		}
	default:
		t.Errorf("query %q: result type %s, want a vector or a scalar", q, res.Data.ResultType)
	}
	t.Logf("%v: %s", values, strings.Join(strings.Fields(q), " "))
	return values
}

// parseSampleValue reads the string value of a sample of Prometheus's HTTP API.
func parseSampleValue(t *testing.T, v any) float64 {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("sample value %v is not a string", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("sample value %q: %v", s, err)
	}
	return f
}
