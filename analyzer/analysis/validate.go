package analysis

import (
	"fmt"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// sampleVars are the variables a template is test-rendered with at validation.
func sampleVars(args map[string]string) Vars {
	return Vars{
		Namespace:      "default",
		App:            "app",
		Revision:       "canary",
		StableRevision: "stable",
		Window:         "1m",
		Args:           args,
	}
}

// ValidateTemplateSpec checks an AnalysisTemplate or ClusterAnalysisTemplate spec beyond what the
// CRD's OpenAPI schema says: conditions compile with expr-lang over `result`, queries and
// conditions are Go templates that parse and name only known variables and declared arguments,
// every metric has a query, a provider and a condition, limits are not negative, durations are
// positive, and names are unique. path is the path of the spec (field.NewPath("spec")).
func ValidateTemplateSpec(spec *slogatev1alpha1.AnalysisTemplateSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec == nil {
		return append(errs, field.Required(path, "spec is required"))
	}

	declared := map[string]bool{}
	// Arguments without a value are test-rendered as 0, which every use (label value, number in
	// a condition) accepts; the step must give them a real value.
	sample := map[string]string{}
	argsPath := path.Child("args")
	for i, a := range spec.Args {
		p := argsPath.Index(i).Child("name")
		switch {
		case a.Name == "":
			errs = append(errs, field.Required(p, "argument name is required"))
			continue
		case declared[a.Name]:
			errs = append(errs, field.Duplicate(p, a.Name))
			continue
		}
		declared[a.Name] = true
		sample[a.Name] = "0"
		if a.Value != nil {
			sample[a.Name] = *a.Value
		}
	}
	vars := sampleVars(sample)

	metricsPath := path.Child("metrics")
	if len(spec.Metrics) == 0 {
		errs = append(errs, field.Required(metricsPath, "at least one metric is required"))
	}
	names := map[string]bool{}
	for i := range spec.Metrics {
		m := &spec.Metrics[i]
		p := metricsPath.Index(i)
		switch {
		case m.Name == "":
			errs = append(errs, field.Required(p.Child("name"), "metric name is required"))
		case names[m.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), m.Name))
		default:
			names[m.Name] = true
		}
		errs = append(errs, validateMetric(m, p, declared, vars)...)
	}
	return errs
}

func validateMetric(m *slogatev1alpha1.Metric, p *field.Path, declared map[string]bool, vars Vars) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, positiveDuration(m.Interval, p.Child("interval"))...)
	errs = append(errs, positiveDuration(m.Window, p.Child("window"))...)
	if m.InitialDelay != nil && m.InitialDelay.Duration < 0 {
		errs = append(errs, field.Invalid(p.Child("initialDelay"), m.InitialDelay.Duration.String(), "must not be negative"))
	}
	if m.Count != nil && *m.Count < 1 {
		errs = append(errs, field.Invalid(p.Child("count"), *m.Count, "must be at least 1"))
	}
	for _, l := range []struct {
		name string
		v    *int32
	}{
		{"failureLimit", m.FailureLimit},
		{"inconclusiveLimit", m.InconclusiveLimit},
		{"consecutiveErrorLimit", m.ConsecutiveErrorLimit},
	} {
		if l.v != nil && *l.v < 0 {
			errs = append(errs, field.Invalid(p.Child(l.name), *l.v, "must not be negative"))
		}
	}

	if m.SuccessCondition == "" && m.FailureCondition == "" {
		errs = append(errs, field.Required(p.Child("successCondition"), "successCondition or failureCondition must be set"))
	}
	errs = append(errs, validateCondition(m.SuccessCondition, p.Child("successCondition"), declared, vars)...)
	errs = append(errs, validateCondition(m.FailureCondition, p.Child("failureCondition"), declared, vars)...)

	if mr := m.MinRequests; mr != nil {
		mp := p.Child("minRequests")
		if strings.TrimSpace(mr.Query) == "" {
			errs = append(errs, field.Required(mp.Child("query"), "query is required"))
		} else {
			errs = append(errs, validateTemplate(mr.Query, mp.Child("query"), declared, vars)...)
		}
		if mr.Count < 0 {
			errs = append(errs, field.Invalid(mp.Child("count"), mr.Count, "must not be negative"))
		}
	}

	prom := m.Provider.Prometheus
	pp := p.Child("provider", "prometheus")
	if prom == nil {
		return append(errs, field.Required(pp, "a provider is required (only prometheus is supported)"))
	}
	if strings.TrimSpace(prom.Query) == "" {
		errs = append(errs, field.Required(pp.Child("query"), "query is required"))
	} else {
		errs = append(errs, validateTemplate(prom.Query, pp.Child("query"), declared, vars)...)
	}
	if prom.Address != "" {
		if u, err := url.Parse(prom.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, field.Invalid(pp.Child("address"), prom.Address, "must be an http or https URL such as http://prometheus.monitoring.svc:9090"))
		}
	}
	errs = append(errs, positiveDuration(prom.Timeout, pp.Child("timeout"))...)
	return errs
}

func positiveDuration(d *metav1.Duration, p *field.Path) field.ErrorList {
	if d != nil && d.Duration <= 0 {
		return field.ErrorList{field.Invalid(p, d.Duration.String(), "must be greater than 0")}
	}
	return nil
}

// validateTemplate checks that text parses as a Go template, names only known variables and
// declared arguments, and renders with sample values.
func validateTemplate(text string, p *field.Path, declared map[string]bool, vars Vars) field.ErrorList {
	if _, err := renderChecked(text, declared, vars); err != nil {
		return field.ErrorList{field.Invalid(p, text, err.Error())}
	}
	return nil
}

func renderChecked(text string, declared map[string]bool, vars Vars) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := parseTemplate(text)
	if err != nil {
		return "", fmt.Errorf("invalid template: %w", err)
	}
	if err := checkReferences(t, declared); err != nil {
		return "", fmt.Errorf("invalid template: %w", err)
	}
	out, err := Render(text, vars)
	if err != nil {
		return "", fmt.Errorf("invalid template: %w", err)
	}
	return out, nil
}

// validateCondition checks a condition's template and that the rendered condition compiles to a
// bool over `result`.
func validateCondition(cond string, p *field.Path, declared map[string]bool, vars Vars) field.ErrorList {
	if cond == "" {
		return nil
	}
	rendered, err := renderChecked(cond, declared, vars)
	if err != nil {
		return field.ErrorList{field.Invalid(p, cond, err.Error())}
	}
	if _, err := compiledConditions.compile(rendered); err != nil {
		return field.ErrorList{field.Invalid(p, cond, fmt.Sprintf("invalid expression (expr-lang over result, a list of numbers): %v", err))}
	}
	return nil
}
