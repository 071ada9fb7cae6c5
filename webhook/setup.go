package webhook

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// The paths the webhook serves; manifests/base/webhook names the same.
const (
	MutateDeploymentPath                = "/mutate-apps-v1-deployment"
	ValidateDeploymentPath              = "/validate-apps-v1-deployment"
	ValidateManagedPath                 = "/validate-slogate-managed"
	MutateServicePath                   = "/mutate-v1-service"
	MutateHTTPRoutePath                 = "/mutate-gateway-networking-k8s-io-v1-httproute"
	ValidateRolloutPolicyPath           = "/validate-slogate-io-v1alpha1-rolloutpolicy"
	ValidateClusterRolloutPolicyPath    = "/validate-slogate-io-v1alpha1-clusterrolloutpolicy"
	ValidateAnalysisTemplatePath        = "/validate-slogate-io-v1alpha1-analysistemplate"
	ValidateClusterAnalysisTemplatePath = "/validate-slogate-io-v1alpha1-clusteranalysistemplate"
)

// Setup registers every handler with the manager's webhook server. The manager's scheme must know
// slogate's API types.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.AnalyzerUsername == "" {
		return fmt.Errorf("setting up the webhook: the analyzer's username is empty")
	}
	srv := mgr.GetWebhookServer()
	for path, h := range map[string]admission.Handler{
		MutateDeploymentPath:   NewDeploymentMutator(opts),
		ValidateDeploymentPath: NewDeploymentValidator(opts),
		ValidateManagedPath:    NewManagedValidator(opts),
		MutateServicePath:      NewServiceMutator(opts),
		MutateHTTPRoutePath:    NewRouteMutator(opts),
	} {
		srv.Register(path, &admission.Webhook{Handler: h})
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &slogatev1alpha1.RolloutPolicy{}).
		WithValidator(NewRolloutPolicyValidator(opts)).WithValidatorCustomPath(ValidateRolloutPolicyPath).Complete(); err != nil {
		return fmt.Errorf("setting up the RolloutPolicy webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &slogatev1alpha1.ClusterRolloutPolicy{}).
		WithValidator(NewClusterRolloutPolicyValidator(opts)).WithValidatorCustomPath(ValidateClusterRolloutPolicyPath).Complete(); err != nil {
		return fmt.Errorf("setting up the ClusterRolloutPolicy webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &slogatev1alpha1.AnalysisTemplate{}).
		WithValidator(NewAnalysisTemplateValidator(opts)).WithValidatorCustomPath(ValidateAnalysisTemplatePath).Complete(); err != nil {
		return fmt.Errorf("setting up the AnalysisTemplate webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &slogatev1alpha1.ClusterAnalysisTemplate{}).
		WithValidator(NewClusterAnalysisTemplateValidator(opts)).WithValidatorCustomPath(ValidateClusterAnalysisTemplatePath).Complete(); err != nil {
		return fmt.Errorf("setting up the ClusterAnalysisTemplate webhook: %w", err)
	}
	return nil
}
