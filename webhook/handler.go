package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	kjson "sigs.k8s.io/json"
)

// DefaultAnalyzerUsername is the user the analyzer's requests come as: its ServiceAccount.
const DefaultAnalyzerUsername = "system:serviceaccount:slogate-system:slogate-analyzer"

// Options configure the webhook's handlers.
type Options struct {
	// AnalyzerUsername is the username of the analyzer's requests (DefaultAnalyzerUsername in an
	// install). Its writes are never mutated and never rejected for being edits to slogate's objects.
	AnalyzerUsername string
	// Metrics counts decisions; nil counts nothing.
	Metrics *Metrics
}

func (o Options) byAnalyzer(req admission.Request) bool {
	return o.AnalyzerUsername != "" && req.UserInfo.Username == o.AnalyzerUsername
}

// Metric kind labels.
const (
	kindDeployment              = "Deployment"
	kindService                 = "Service"
	kindHTTPRoute               = "HTTPRoute"
	kindManaged                 = "ManagedObject"
	kindRolloutPolicy           = "RolloutPolicy"
	kindClusterRolloutPolicy    = "ClusterRolloutPolicy"
	kindAnalysisTemplate        = "AnalysisTemplate"
	kindClusterAnalysisTemplate = "ClusterAnalysisTemplate"
)

var (
	deploymentGK = schema.GroupKind{Group: appsv1.GroupName, Kind: "Deployment"}
	serviceGK    = schema.GroupKind{Group: corev1.GroupName, Kind: "Service"}
	routeGK      = schema.GroupKind{Group: gatewayv1.GroupName, Kind: "HTTPRoute"}
)

var errNoObject = errors.New("the request carries no object")

// NewDeploymentMutator returns the handler of the mutating webhook on Deployments in opted-in
// namespaces (MutateDeployment).
func NewDeploymentMutator(opts Options) admission.Handler { return deploymentMutator{opts: opts} }

// NewDeploymentValidator returns the handler of the validating webhook on Deployments in opted-in
// namespaces (ValidateDeployment).
func NewDeploymentValidator(opts Options) admission.Handler { return deploymentValidator{opts: opts} }

// NewManagedValidator returns the handler of the validating webhook on objects labelled
// app.kubernetes.io/managed-by: slogate (ValidateManagedChange).
func NewManagedValidator(opts Options) admission.Handler { return managedValidator{opts: opts} }

// NewServiceMutator returns the handler of the mutating webhook on Services in opted-in
// namespaces (MutateService).
func NewServiceMutator(opts Options) admission.Handler { return serviceMutator{opts: opts} }

// NewRouteMutator returns the handler of the mutating webhook on HTTPRoutes in opted-in
// namespaces (MutateRoute).
func NewRouteMutator(opts Options) admission.Handler { return routeMutator{opts: opts} }

type deploymentMutator struct{ opts Options }

func (h deploymentMutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	in, err := deploymentRequest(req, h.opts)
	if err != nil {
		return h.opts.errored(kindDeployment, err)
	}
	m := MutateDeployment(in)
	h.opts.Metrics.observe(kindDeployment, m.Decision)
	logDecision(ctx, req, m.Decision)
	if m.Deployment == nil {
		return admission.Allowed("")
	}
	return h.opts.patched(kindDeployment, req.Object.Raw, deploymentEdits(in.New, m.Deployment), m.Warnings)
}

type deploymentValidator struct{ opts Options }

func (h deploymentValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	in, err := deploymentRequest(req, h.opts)
	if err != nil {
		return h.opts.errored(kindDeployment, err)
	}
	errs, warnings := ValidateDeployment(in)
	return h.opts.verdict(ctx, req, kindDeployment, errs, warnings)
}

type managedValidator struct{ opts Options }

func (h managedValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	in := ManagedRequest{Operation: req.Operation, ByAnalyzer: h.opts.byAnalyzer(req)}
	var err error
	if in.Old, err = decodeOptional[Object](req.OldObject); err != nil {
		return h.opts.errored(kindManaged, err)
	}
	if in.New, err = decodeOptional[Object](req.Object); err != nil {
		return h.opts.errored(kindManaged, err)
	}
	return h.opts.verdict(ctx, req, kindManaged, ValidateManagedChange(in), nil)
}

type serviceMutator struct{ opts Options }

func (h serviceMutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if err := expectKind(req, serviceGK); err != nil {
		return h.opts.errored(kindService, err)
	}
	in := ServiceRequest{Operation: req.Operation, ByAnalyzer: h.opts.byAnalyzer(req)}
	var err error
	if in.Old, err = decodeOptional[corev1.Service](req.OldObject); err != nil {
		return h.opts.errored(kindService, err)
	}
	if in.New, err = decodeOptional[corev1.Service](req.Object); err != nil {
		return h.opts.errored(kindService, err)
	}
	m, errs := MutateService(in)
	if len(errs) > 0 {
		return h.opts.verdict(ctx, req, kindService, errs, nil)
	}
	h.opts.Metrics.observe(kindService, m.Decision)
	logDecision(ctx, req, m.Decision)
	if m.Service == nil {
		return admission.Allowed("")
	}
	return h.opts.patched(kindService, req.Object.Raw, serviceEdits(in.New, m.Service), m.Warnings)
}

type routeMutator struct{ opts Options }

func (h routeMutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if err := expectKind(req, routeGK); err != nil {
		return h.opts.errored(kindHTTPRoute, err)
	}
	in := RouteRequest{Operation: req.Operation, ByAnalyzer: h.opts.byAnalyzer(req)}
	var err error
	if in.Old, err = decodeOptional[gatewayv1.HTTPRoute](req.OldObject); err != nil {
		return h.opts.errored(kindHTTPRoute, err)
	}
	if in.New, err = decodeOptional[gatewayv1.HTTPRoute](req.Object); err != nil {
		return h.opts.errored(kindHTTPRoute, err)
	}
	m, errs := MutateRoute(in)
	if len(errs) > 0 {
		return h.opts.verdict(ctx, req, kindHTTPRoute, errs, nil)
	}
	h.opts.Metrics.observe(kindHTTPRoute, m.Decision)
	logDecision(ctx, req, m.Decision)
	if m.Route == nil {
		return admission.Allowed("")
	}
	return h.opts.patched(kindHTTPRoute, req.Object.Raw, routeEdits(in.New, m.Route), m.Warnings)
}

// deploymentRequest decodes the objects of a request on a Deployment.
func deploymentRequest(req admission.Request, opts Options) (DeploymentRequest, error) {
	in := DeploymentRequest{Operation: req.Operation, ByAnalyzer: opts.byAnalyzer(req)}
	if err := expectKind(req, deploymentGK); err != nil {
		return in, err
	}
	var err error
	if in.Old, err = decodeOptional[appsv1.Deployment](req.OldObject); err != nil {
		return in, err
	}
	if in.New, err = decodeOptional[appsv1.Deployment](req.Object); err != nil {
		return in, err
	}
	if in.New == nil && (req.Operation == admissionv1.Create || req.Operation == admissionv1.Update) {
		return in, fmt.Errorf("%s of a Deployment: %w", req.Operation, errNoObject)
	}
	if in.Old == nil && req.Operation == admissionv1.Update {
		return in, fmt.Errorf("UPDATE of a Deployment without the stored object: %w", errNoObject)
	}
	return in, nil
}

func expectKind(req admission.Request, gk schema.GroupKind) error {
	if req.Kind.Group != gk.Group || req.Kind.Kind != gk.Kind {
		return fmt.Errorf("this webhook serves %s, not %s", gk, schema.GroupKind{Group: req.Kind.Group, Kind: req.Kind.Kind})
	}
	return nil
}

// decodeOptional decodes an object of a request, nil when the request has none. The decoding is
// case-sensitive, like the API server's, so the fields the decisions see are the fields the patch
// is made against.
func decodeOptional[T any](raw runtime.RawExtension) (*T, error) {
	if len(raw.Raw) == 0 {
		return nil, nil
	}
	obj := new(T)
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw.Raw, obj); err != nil {
		return nil, fmt.Errorf("decoding the object: %w", err)
	}
	return obj, nil
}

func (o Options) errored(kind string, err error) admission.Response {
	o.Metrics.observe(kind, DecisionError)
	return admission.Errored(http.StatusBadRequest, err)
}

// patched answers with the patch that makes edits on raw, or with no patch when they change
// nothing.
func (o Options) patched(kind string, raw []byte, edits []edit, warnings []string) admission.Response {
	ops, err := buildPatch(raw, edits)
	if err != nil {
		return o.errored(kind, err)
	}
	if len(ops) == 0 {
		return admission.Allowed("").WithWarnings(warnings...)
	}
	return admission.Patched("", ops...).WithWarnings(warnings...)
}

// verdict answers a validation: allowed with the warnings, or denied with every error and its
// field path. The API server puts the hook's name in front of the message, so kubectl shows both
// that slogate refused and which field is wrong.
func (o Options) verdict(ctx context.Context, req admission.Request, kind string, errs field.ErrorList,
	warnings []string) admission.Response {
	if len(errs) == 0 {
		o.Metrics.observe(kind, DecisionAllowed)
		return admission.Allowed("").WithWarnings(warnings...)
	}
	o.Metrics.observe(kind, DecisionDenied)
	ctrl.LoggerFrom(ctx).V(1).Info("Denied a request", "kind", kind, "object", klog.KRef(req.Namespace, req.Name),
		"operation", req.Operation, "user", req.UserInfo.Username, "errors", errs.ToAggregate().Error())
	return admission.Denied(errs.ToAggregate().Error()).WithWarnings(warnings...)
}

func logDecision(ctx context.Context, req admission.Request, d Decision) {
	log := ctrl.LoggerFrom(ctx)
	switch d {
	case DecisionHold, DecisionSupersede, DecisionEnd, DecisionFailedRevision, DecisionNoCanary:
	default:
		log = log.V(1)
	}
	dryRun := req.DryRun != nil && *req.DryRun
	log.Info("Decided an admission request", "kind", req.Kind.Kind, "object", klog.KRef(req.Namespace, req.Name),
		"operation", req.Operation, "decision", d, "user", req.UserInfo.Username, "dryRun", dryRun)
}
