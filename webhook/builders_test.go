package webhook

import (
	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

// The handlers log through controller-runtime; tests discard it.
func init() { ctrl.SetLogger(logr.Discard()) }

const (
	testNamespace = "shop"
	testAnalyzer  = "system:serviceaccount:slogate-system:slogate-analyzer"
	testUser      = "alice"
)

// deploymentBuilder makes Deployments for tests: makeDeployment("web").image("v2").obj().
type deploymentBuilder struct{ d *appsv1.Deployment }

// makeDeployment is a settled 3-replica Deployment of image v1: every replica updated and available.
func makeDeployment(name string) deploymentBuilder {
	return deploymentBuilder{d: &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: testNamespace, Generation: 4, UID: "d0e1f2",
			Labels:      map[string]string{"app": name},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "3"},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example/" + name + ":v1",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
		},
	}}
}

func (b deploymentBuilder) clone() deploymentBuilder { return deploymentBuilder{d: b.d.DeepCopy()} }

func (b deploymentBuilder) image(tag string) deploymentBuilder {
	b = b.clone()
	b.d.Spec.Template.Spec.Containers[0].Image = "registry.example/" + b.d.Name + ":" + tag
	return b
}

// labelled sets the template's revision label to the template's revision.
func (b deploymentBuilder) labelled() deploymentBuilder {
	b = b.clone()
	b.d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] = revision.Of(&b.d.Spec.Template)
	return b
}

func (b deploymentBuilder) revisionLabel(v string) deploymentBuilder {
	b = b.clone()
	b.d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] = v
	return b
}

func (b deploymentBuilder) noRevisionLabel() deploymentBuilder {
	b = b.clone()
	delete(b.d.Spec.Template.Labels, slogatev1alpha1.RevisionLabel)
	return b
}

func (b deploymentBuilder) paused(p bool) deploymentBuilder {
	b = b.clone()
	b.d.Spec.Paused = p
	return b
}

func (b deploymentBuilder) annotation(k, v string) deploymentBuilder {
	b = b.clone()
	if b.d.Annotations == nil {
		b.d.Annotations = map[string]string{}
	}
	b.d.Annotations[k] = v
	return b
}

func (b deploymentBuilder) noAnnotation(k string) deploymentBuilder {
	b = b.clone()
	delete(b.d.Annotations, k)
	return b
}

func (b deploymentBuilder) noAnnotations() deploymentBuilder {
	b = b.clone()
	b.d.Annotations = nil
	return b
}

// release records a live release of canary over stable.
func (b deploymentBuilder) release(stable, canary string) deploymentBuilder {
	return b.annotation(slogatev1alpha1.StableRevisionAnnotation, stable).annotation(slogatev1alpha1.CanaryRevisionAnnotation, canary)
}

func (b deploymentBuilder) replicas(n int32) deploymentBuilder {
	b = b.clone()
	b.d.Spec.Replicas = ptr.To(n)
	return b
}

func (b deploymentBuilder) status(st appsv1.DeploymentStatus) deploymentBuilder {
	b = b.clone()
	b.d.Status = st
	return b
}

func (b deploymentBuilder) generation(g int64) deploymentBuilder {
	b = b.clone()
	b.d.Generation = g
	return b
}

func (b deploymentBuilder) label(k, v string) deploymentBuilder {
	b = b.clone()
	b.d.Labels[k] = v
	return b
}

func (b deploymentBuilder) rev() string { return revision.Of(&b.d.Spec.Template) }

func (b deploymentBuilder) obj() *appsv1.Deployment { return b.d.DeepCopy() }

// threeContainers makes the Deployment realistic: an app, a sidecar proxy and a log shipper, with
// resources, probes, env and volumes.
func (b deploymentBuilder) threeContainers() deploymentBuilder {
	b = b.clone()
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 5, FailureThreshold: 3}
	}
	app := b.d.Spec.Template.Spec.Containers[0]
	app.Resources = res
	app.ReadinessProbe, app.LivenessProbe = probe("/healthz"), probe("/livez")
	app.Env = []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "info"},
		{Name: "DB_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "url"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}
	app.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}, {Name: "logs", MountPath: "/var/log/app"}}
	proxy := corev1.Container{Name: "proxy", Image: "registry.example/proxy:1.31", Resources: res,
		Args:  []string{"--listen=:15001", "--upstream=127.0.0.1:8080", "--metrics=:15090"},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 15001}, {Name: "metrics", ContainerPort: 15090}}}
	shipper := corev1.Container{Name: "log-shipper", Image: "registry.example/shipper:3.2", Resources: res,
		VolumeMounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/var/log/app", ReadOnly: true}}}
	t := &b.d.Spec.Template
	t.Spec.Containers = []corev1.Container{app, proxy, shipper}
	t.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: b.d.Name + "-config"}}}},
		{Name: "logs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	t.Annotations = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "15090"}
	t.Spec.ServiceAccountName = b.d.Name
	t.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
	return b
}

// serviceBuilder makes Services for tests.
type serviceBuilder struct{ s *corev1.Service }

func makeService(name string) serviceBuilder {
	return serviceBuilder{s: &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}}
}

func (b serviceBuilder) selector(k, v string) serviceBuilder {
	b = serviceBuilder{s: b.s.DeepCopy()}
	if b.s.Spec.Selector == nil {
		b.s.Spec.Selector = map[string]string{}
	}
	b.s.Spec.Selector[k] = v
	return b
}

func (b serviceBuilder) noSelector(k string) serviceBuilder {
	b = serviceBuilder{s: b.s.DeepCopy()}
	delete(b.s.Spec.Selector, k)
	return b
}

func (b serviceBuilder) annotation(k, v string) serviceBuilder {
	b = serviceBuilder{s: b.s.DeepCopy()}
	if b.s.Annotations == nil {
		b.s.Annotations = map[string]string{}
	}
	b.s.Annotations[k] = v
	return b
}

func (b serviceBuilder) label(k, v string) serviceBuilder {
	b = serviceBuilder{s: b.s.DeepCopy()}
	if b.s.Labels == nil {
		b.s.Labels = map[string]string{}
	}
	b.s.Labels[k] = v
	return b
}

func (b serviceBuilder) pinned(k, v string) serviceBuilder {
	return b.selector(k, v).annotation(slogatev1alpha1.StablePinAnnotation, k)
}

func (b serviceBuilder) obj() *corev1.Service { return b.s.DeepCopy() }

// routeBuilder makes HTTPRoutes for tests, shaped like the seed's.
type routeBuilder struct{ r *gatewayv1.HTTPRoute }

func makeRoute(name string) routeBuilder {
	return routeBuilder{r: &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public", Namespace: ptr.To[gatewayv1.Namespace]("infra")}}},
			Hostnames:       []gatewayv1.Hostname{"api.example.com"},
		},
	}}
}

// rule adds a rule with a path prefix and backends given as name, weight pairs (weight < 0: unset).
func (b routeBuilder) rule(prefix string, backends ...any) routeBuilder {
	b = routeBuilder{r: b.r.DeepCopy()}
	rule := gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
		Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(prefix)}}}}
	for i := 0; i+1 < len(backends); i += 2 {
		ref := gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(backends[i].(string)), Port: ptr.To[gatewayv1.PortNumber](80)}}}
		if w := backends[i+1].(int); w >= 0 {
			ref.Weight = ptr.To(int32(w))
		}
		rule.BackendRefs = append(rule.BackendRefs, ref)
	}
	b.r.Spec.Rules = append(b.r.Spec.Rules, rule)
	return b
}

func (b routeBuilder) annotation(k, v string) routeBuilder {
	b = routeBuilder{r: b.r.DeepCopy()}
	if b.r.Annotations == nil {
		b.r.Annotations = map[string]string{}
	}
	b.r.Annotations[k] = v
	return b
}

func (b routeBuilder) hostname(h string) routeBuilder {
	b = routeBuilder{r: b.r.DeepCopy()}
	b.r.Spec.Hostnames = []gatewayv1.Hostname{gatewayv1.Hostname(h)}
	return b
}

func (b routeBuilder) obj() *gatewayv1.HTTPRoute { return b.r.DeepCopy() }
