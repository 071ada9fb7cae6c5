package webhook

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// Object is the part of any Kubernetes object the managed-object rule looks at.
type Object struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	// Spec as decoded JSON (maps, slices, strings, bools, int64, float64), nil when absent.
	Spec any `json:"spec,omitempty"`
}

// ManagedRequest is a request on an object that may be one slogate manages.
type ManagedRequest struct {
	Operation admissionv1.Operation
	// Old is the stored object (UPDATE), New the one the request would store (CREATE, UPDATE).
	Old, New *Object
	// ByAnalyzer is true when the request comes from the analyzer's ServiceAccount.
	ByAnalyzer bool
}

// controllerAnnotationPrefixes are annotations Kubernetes controllers keep on the objects slogate
// creates through the main resource (the Deployment controller's revision); their writes go
// through.
var controllerAnnotationPrefixes = []string{"deployment.kubernetes.io/"}

// ValidateManagedChange rejects a change to an object labelled app.kubernetes.io/managed-by:
// slogate (such as the canary Deployment) by anyone but the analyzer: creating one, or changing
// its spec, labels or annotations. Kubernetes' own bookkeeping (status, finalizers, owner
// references, managed fields, the Deployment controller's annotations) goes through, and so does
// deletion: the garbage collector and namespace deletion must never be blocked.
func ValidateManagedChange(req ManagedRequest) field.ErrorList {
	if req.ByAnalyzer {
		return nil
	}
	switch req.Operation {
	case admissionv1.Create:
		if req.New != nil && managed(req.New) {
			return field.ErrorList{field.Forbidden(managedByPath(), fmt.Sprintf(
				"objects labelled %s=%s are created by slogate's analyzer only", slogatev1alpha1.ManagedByLabel, slogatev1alpha1.ManagedByValue))}
		}
		return nil
	case admissionv1.Update:
	default:
		return nil
	}
	if req.Old == nil || req.New == nil || (!managed(req.Old) && !managed(req.New)) {
		return nil
	}
	what := fmt.Sprintf("%s %s is managed by slogate: only slogate's analyzer changes it, and it goes away when the release ends "+
		"(to end it now: kubectl slogate abort)", kindOf(req.Old), req.Old.Metadata.Name)
	var errs field.ErrorList
	for _, k := range changedKeys(req.Old.Metadata.Labels, req.New.Metadata.Labels, nil) {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "labels").Key(k), what))
	}
	for _, k := range changedKeys(req.Old.Metadata.Annotations, req.New.Metadata.Annotations, controllerAnnotationPrefixes) {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations").Key(k), what))
	}
	if !reflect.DeepEqual(req.Old.Spec, req.New.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), what))
	}
	return errs
}

func managed(o *Object) bool {
	return o.Metadata.Labels[slogatev1alpha1.ManagedByLabel] == slogatev1alpha1.ManagedByValue
}

func managedByPath() *field.Path {
	return field.NewPath("metadata", "labels").Key(slogatev1alpha1.ManagedByLabel)
}

func kindOf(o *Object) string {
	if o.Kind != "" {
		return o.Kind
	}
	return "object"
}

// changedKeys lists, sorted, the keys whose value differs between a and b, leaving out keys with
// one of the ignored prefixes.
func changedKeys(a, b map[string]string, ignored []string) []string {
	var keys []string
	consider := func(k string) {
		for _, p := range ignored {
			if strings.HasPrefix(k, p) {
				return
			}
		}
		va, inA := a[k]
		vb, inB := b[k]
		if inA != inB || va != vb {
			keys = append(keys, k)
		}
	}
	for k := range a {
		consider(k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			consider(k)
		}
	}
	slices.Sort(keys)
	return keys
}
