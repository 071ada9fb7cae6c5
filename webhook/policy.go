package webhook

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/slogate/slogate/analyzer/analysis"
	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// ValidateRolloutPolicySpec checks the spec of a RolloutPolicy or ClusterRolloutPolicy: each step
// is exactly one of setWeight (0..100), pause (a positive duration, or none for a manual pause)
// and analysis (1..16 named templates, uniquely named args); the selector is a valid label
// selector; Service and route names are valid; timeouts are positive. Weights need not grow from
// step to step.
func ValidateRolloutPolicySpec(spec *slogatev1alpha1.RolloutPolicySpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector,
			metav1validation.LabelSelectorValidationOptions{}, path.Child("selector"))...)
	}
	steps := path.Child("steps")
	if len(spec.Steps) > 64 {
		errs = append(errs, field.TooMany(steps, len(spec.Steps), 64))
	}
	for i := range spec.Steps {
		errs = append(errs, validateStep(&spec.Steps[i], steps.Index(i))...)
	}
	for _, svc := range []struct {
		name string
		path *field.Path
	}{{spec.StableService, path.Child("stableService")}, {spec.CanaryService, path.Child("canaryService")}} {
		if svc.name == "" {
			continue
		}
		for _, msg := range validation.IsDNS1035Label(svc.name) {
			errs = append(errs, field.Invalid(svc.path, svc.name, msg))
		}
	}
	if spec.StableService != "" && spec.StableService == spec.CanaryService {
		errs = append(errs, field.Invalid(path.Child("canaryService"), spec.CanaryService, "must differ from stableService"))
	}
	if tr := spec.TrafficRouting; tr != nil && tr.GatewayAPI != nil && tr.GatewayAPI.HTTPRoute != "" {
		p := path.Child("trafficRouting", "gatewayAPI", "httpRoute")
		for _, msg := range validation.IsDNS1123Subdomain(tr.GatewayAPI.HTTPRoute) {
			errs = append(errs, field.Invalid(p, tr.GatewayAPI.HTTPRoute, msg))
		}
	}
	errs = append(errs, positive(spec.CanaryReadyTimeout, path.Child("canaryReadyTimeout"))...)
	errs = append(errs, positive(spec.AnalysisTimeout, path.Child("analysisTimeout"))...)
	errs = append(errs, positive(spec.PromotionTimeout, path.Child("promotionTimeout"))...)
	return errs
}

func validateStep(s *slogatev1alpha1.CanaryStep, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	kinds := 0
	if s.SetWeight != nil {
		kinds++
		if w := *s.SetWeight; w < 0 || w > 100 {
			errs = append(errs, field.Invalid(path.Child("setWeight"), w, "must be from 0 to 100"))
		}
	}
	if s.Pause != nil {
		kinds++
		errs = append(errs, positive(s.Pause.Duration, path.Child("pause", "duration"))...)
	}
	if a := s.Analysis; a != nil {
		kinds++
		p := path.Child("analysis")
		switch n := len(a.Templates); {
		case n == 0:
			errs = append(errs, field.Required(p.Child("templates"), "an analysis step names at least one template"))
		case n > 16:
			errs = append(errs, field.TooMany(p.Child("templates"), n, 16))
		}
		for i, t := range a.Templates {
			tp := p.Child("templates").Index(i).Child("templateName")
			if t.TemplateName == "" {
				errs = append(errs, field.Required(tp, "names an AnalysisTemplate (or, with clusterScope, a ClusterAnalysisTemplate)"))
				continue
			}
			for _, msg := range validation.IsDNS1123Subdomain(t.TemplateName) {
				errs = append(errs, field.Invalid(tp, t.TemplateName, msg))
			}
		}
		seen := sets.New[string]()
		for i, arg := range a.Args {
			ap := p.Child("args").Index(i).Child("name")
			switch {
			case arg.Name == "":
				errs = append(errs, field.Required(ap, "an argument has a name"))
			case seen.Has(arg.Name):
				errs = append(errs, field.Duplicate(ap, arg.Name))
			}
			seen.Insert(arg.Name)
		}
	}
	if kinds != 1 {
		errs = append(errs, field.Invalid(path, fmt.Sprintf("%d kinds", kinds), "must set exactly one of setWeight, pause and analysis"))
	}
	return errs
}

func positive(d *metav1.Duration, path *field.Path) field.ErrorList {
	if d != nil && d.Duration <= 0 {
		return field.ErrorList{field.Invalid(path, d.Duration.String(), "must be a positive duration, such as 180s or 5m")}
	}
	return nil
}

// specValidator is the typed validator of one of slogate's own kinds: the object is valid when
// validate returns no error. Deletion is always allowed.
type specValidator[T runtime.Object] struct {
	kind     string
	validate func(T) field.ErrorList
	metrics  *Metrics
}

var (
	_ admission.Validator[*slogatev1alpha1.RolloutPolicy]           = specValidator[*slogatev1alpha1.RolloutPolicy]{}
	_ admission.Validator[*slogatev1alpha1.ClusterRolloutPolicy]    = specValidator[*slogatev1alpha1.ClusterRolloutPolicy]{}
	_ admission.Validator[*slogatev1alpha1.AnalysisTemplate]        = specValidator[*slogatev1alpha1.AnalysisTemplate]{}
	_ admission.Validator[*slogatev1alpha1.ClusterAnalysisTemplate] = specValidator[*slogatev1alpha1.ClusterAnalysisTemplate]{}
)

func (v specValidator[T]) ValidateCreate(_ context.Context, obj T) (admission.Warnings, error) {
	return nil, v.check(obj)
}

func (v specValidator[T]) ValidateUpdate(_ context.Context, _, obj T) (admission.Warnings, error) {
	return nil, v.check(obj)
}

func (v specValidator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

func (v specValidator[T]) check(obj T) error {
	errs := v.validate(obj)
	if len(errs) == 0 {
		v.metrics.observe(v.kind, DecisionAllowed)
		return nil
	}
	v.metrics.observe(v.kind, DecisionDenied)
	return errs.ToAggregate()
}

// NewRolloutPolicyValidator validates RolloutPolicies (ValidateRolloutPolicySpec).
func NewRolloutPolicyValidator(opts Options) admission.Validator[*slogatev1alpha1.RolloutPolicy] {
	return specValidator[*slogatev1alpha1.RolloutPolicy]{kind: kindRolloutPolicy, metrics: opts.Metrics,
		validate: func(p *slogatev1alpha1.RolloutPolicy) field.ErrorList {
			return ValidateRolloutPolicySpec(&p.Spec, field.NewPath("spec"))
		}}
}

// NewClusterRolloutPolicyValidator validates ClusterRolloutPolicies (ValidateRolloutPolicySpec).
func NewClusterRolloutPolicyValidator(opts Options) admission.Validator[*slogatev1alpha1.ClusterRolloutPolicy] {
	return specValidator[*slogatev1alpha1.ClusterRolloutPolicy]{kind: kindClusterRolloutPolicy, metrics: opts.Metrics,
		validate: func(p *slogatev1alpha1.ClusterRolloutPolicy) field.ErrorList {
			return ValidateRolloutPolicySpec(&p.Spec, field.NewPath("spec"))
		}}
}

// NewAnalysisTemplateValidator validates AnalysisTemplates (analysis.ValidateTemplateSpec).
func NewAnalysisTemplateValidator(opts Options) admission.Validator[*slogatev1alpha1.AnalysisTemplate] {
	return specValidator[*slogatev1alpha1.AnalysisTemplate]{kind: kindAnalysisTemplate, metrics: opts.Metrics,
		validate: func(t *slogatev1alpha1.AnalysisTemplate) field.ErrorList {
			return analysis.ValidateTemplateSpec(&t.Spec, field.NewPath("spec"))
		}}
}

// NewClusterAnalysisTemplateValidator validates ClusterAnalysisTemplates (analysis.ValidateTemplateSpec).
func NewClusterAnalysisTemplateValidator(opts Options) admission.Validator[*slogatev1alpha1.ClusterAnalysisTemplate] {
	return specValidator[*slogatev1alpha1.ClusterAnalysisTemplate]{kind: kindClusterAnalysisTemplate, metrics: opts.Metrics,
		validate: func(t *slogatev1alpha1.ClusterAnalysisTemplate) field.ErrorList {
			return analysis.ValidateTemplateSpec(&t.Spec, field.NewPath("spec"))
		}}
}
