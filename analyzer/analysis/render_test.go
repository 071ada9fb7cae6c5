package analysis

import (
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	vars := Vars{Namespace: "prod", App: "payments-api", Revision: "c4n4ry", StableRevision: "st4b1e", Window: "5m",
		Args: map[string]string{"threshold": "99.5", "job": "api"}}
	cases := map[string]struct {
		text    string
		want    string
		wantErr string
	}{
		"no template":                    {text: `sum(rate(x[5m]))`, want: `sum(rate(x[5m]))`},
		"text with braces but no action": {text: `x{a="b"}`, want: `x{a="b"}`},
		"every variable": {
			text: `x{namespace="{{ .Namespace }}",app="{{ .App }}",rev="{{ .Revision }}",stable="{{ .StableRevision }}",job="{{ .Args.job }}"}[{{ .Window }}] > {{ .Args.threshold }}`,
			want: `x{namespace="prod",app="payments-api",rev="c4n4ry",stable="st4b1e",job="api"}[5m] > 99.5`,
		},
		"stable side by not the canary": {
			text: `x{slogate_io_revision!="{{ .Revision }}"}`,
			want: `x{slogate_io_revision!="c4n4ry"}`,
		},
		"missing argument": {text: `{{ .Args.nope }}`, wantErr: `map has no entry for key "nope"`},
		"unknown variable": {text: `{{ .Deployment }}`, wantErr: "can't evaluate field Deployment"},
		"syntax error":     {text: `{{ .App `, wantErr: "parsing template"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Render(tc.text, vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Render() error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Render() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPromDuration(t *testing.T) {
	for in, want := range map[time.Duration]string{
		time.Minute:                "1m",
		5 * time.Minute:            "5m",
		90 * time.Second:           "1m30s",
		time.Hour + 30*time.Minute: "1h30m",
		30 * time.Second:           "30s",
		1500 * time.Millisecond:    "1s500ms",
	} {
		if got := PromDuration(in); got != want {
			t.Errorf("PromDuration(%s) = %s, want %s", in, got, want)
		}
	}
}
