package webhook

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	webhookmanifests "github.com/slogate/slogate/manifests/base/webhook"
)

// hookFacts is what the manifests must say about each hook.
type hookFacts struct {
	Path          string
	Resources     []string
	Operations    []string
	NamespaceSel  bool
	ObjectSel     string
	FailurePolicy string
	Timeout       int32
	SideEffects   string
	MatchPolicy   string
	Versions      []string
}

func TestManifestsMatchTheHandlers(t *testing.T) {
	var mutating admissionregistrationv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(webhookmanifests.Mutating, &mutating); err != nil {
		t.Fatalf("mutating.yaml: %v", err)
	}
	var validating admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(webhookmanifests.Validating, &validating); err != nil {
		t.Fatalf("validating.yaml: %v", err)
	}
	notManaged := "app.kubernetes.io/managed-by notin (slogate)"
	managed := "app.kubernetes.io/managed-by=slogate"
	hook := func(path string, ns bool, obj string, ops []string, resources ...string) hookFacts {
		return hookFacts{Path: path, Resources: resources, Operations: ops, NamespaceSel: ns, ObjectSel: obj,
			FailurePolicy: "Fail", Timeout: 5, SideEffects: "None", MatchPolicy: "Equivalent", Versions: []string{"v1"}}
	}
	createUpdate := []string{"CREATE", "UPDATE"}
	update := []string{"UPDATE"}
	want := map[string]hookFacts{
		"deployments.mutate.slogate.io":   hook(MutateDeploymentPath, true, notManaged, createUpdate, "apps/v1/deployments"),
		"services.mutate.slogate.io":      hook(MutateServicePath, true, notManaged, update, "/v1/services"),
		"httproutes.mutate.slogate.io":    hook(MutateHTTPRoutePath, true, notManaged, update, "gateway.networking.k8s.io/v1/httproutes"),
		"deployments.validate.slogate.io": hook(ValidateDeploymentPath, true, notManaged, createUpdate, "apps/v1/deployments"),
		"managed.validate.slogate.io": hook(ValidateManagedPath, true, managed, createUpdate,
			"apps/v1/deployments", "/v1/services"),
		"rolloutpolicies.validate.slogate.io":          hook(ValidateRolloutPolicyPath, false, "", createUpdate, "slogate.io/v1alpha1/rolloutpolicies"),
		"clusterrolloutpolicies.validate.slogate.io":   hook(ValidateClusterRolloutPolicyPath, false, "", createUpdate, "slogate.io/v1alpha1/clusterrolloutpolicies"),
		"analysistemplates.validate.slogate.io":        hook(ValidateAnalysisTemplatePath, false, "", createUpdate, "slogate.io/v1alpha1/analysistemplates"),
		"clusteranalysistemplates.validate.slogate.io": hook(ValidateClusterAnalysisTemplatePath, false, "", createUpdate, "slogate.io/v1alpha1/clusteranalysistemplates"),
	}

	got := map[string]hookFacts{}
	facts := func(cc admissionregistrationv1.WebhookClientConfig, rules []admissionregistrationv1.RuleWithOperations,
		ns, obj *metav1.LabelSelector, fp *admissionregistrationv1.FailurePolicyType, timeout *int32,
		se *admissionregistrationv1.SideEffectClass, mp *admissionregistrationv1.MatchPolicyType, versions []string) hookFacts {
		f := hookFacts{Versions: versions}
		if cc.Service != nil && cc.Service.Path != nil {
			f.Path = *cc.Service.Path
			if cc.Service.Name != "slogate-webhook" || cc.Service.Namespace != "slogate-system" || cc.Service.Port == nil || *cc.Service.Port != 443 {
				t.Errorf("hook at %s calls %+v, want Service slogate-system/slogate-webhook port 443", f.Path, cc.Service)
			}
		}
		for _, r := range rules {
			for _, g := range r.APIGroups {
				for _, v := range r.APIVersions {
					for _, res := range r.Resources {
						f.Resources = append(f.Resources, g+"/"+v+"/"+res)
					}
				}
			}
			f.Operations = nil
			for _, op := range r.Operations {
				f.Operations = append(f.Operations, string(op))
			}
		}
		if ns != nil {
			sel, err := selectorString(ns)
			if err != nil {
				t.Fatal(err)
			}
			f.NamespaceSel = sel == "kubernetes.io/metadata.name notin (kube-system,slogate-system),slogate.io/canary=enabled"
			if !f.NamespaceSel {
				t.Errorf("hook at %s selects namespaces by %q", f.Path, sel)
			}
		}
		if obj != nil {
			sel, err := selectorString(obj)
			if err != nil {
				t.Fatal(err)
			}
			f.ObjectSel = sel
		}
		if fp != nil {
			f.FailurePolicy = string(*fp)
		}
		if timeout != nil {
			f.Timeout = *timeout
		}
		if se != nil {
			f.SideEffects = string(*se)
		}
		if mp != nil {
			f.MatchPolicy = string(*mp)
		}
		return f
	}
	for _, h := range mutating.Webhooks {
		got[h.Name] = facts(h.ClientConfig, h.Rules, h.NamespaceSelector, h.ObjectSelector, h.FailurePolicy, h.TimeoutSeconds,
			h.SideEffects, h.MatchPolicy, h.AdmissionReviewVersions)
		if h.ReinvocationPolicy == nil || *h.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("mutating hook %s: reinvocationPolicy %v, want IfNeeded (the mutations are idempotent)", h.Name, h.ReinvocationPolicy)
		}
	}
	for _, h := range validating.Webhooks {
		got[h.Name] = facts(h.ClientConfig, h.Rules, h.NamespaceSelector, h.ObjectSelector, h.FailurePolicy, h.TimeoutSeconds,
			h.SideEffects, h.MatchPolicy, h.AdmissionReviewVersions)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhook configurations (-want +got):\n%s", diff)
	}
}

func selectorString(sel *metav1.LabelSelector) (string, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "", err
	}
	return s.String(), nil
}

func TestSetupServesEveryPath(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := slogatev1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	// No API server is needed: the manager is never started.
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Setup(mgr, Options{}); err == nil {
		t.Errorf("Setup without the analyzer's username succeeded")
	}
	if err := Setup(mgr, Options{AnalyzerUsername: testAnalyzer}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{MutateDeploymentPath, ValidateDeploymentPath, ValidateManagedPath, MutateServicePath,
		MutateHTTPRoutePath, ValidateRolloutPolicyPath, ValidateClusterRolloutPolicyPath, ValidateAnalysisTemplatePath,
		ValidateClusterAnalysisTemplatePath} {
		_, pattern := mgr.GetWebhookServer().WebhookMux().Handler(httptest.NewRequest(http.MethodPost, path, nil))
		if pattern != path {
			t.Errorf("no handler serves %s (matched %q)", path, pattern)
		}
	}
}
