package main

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
	"github.com/slogate/slogate/internal/revision"
)

// realisticDeployment is the kind of Deployment a platform team runs: an application container,
// a proxy sidecar and a log shipper, with probes, resources, env, volumes, a security context and
// the labels and annotations that tooling adds. As stored: revision label on the template, status
// of a settled rollout. Its JSON is about 6 KiB, the size of a typical AdmissionReview object.
func realisticDeployment(namespace, name, image string) *appsv1.Deployment {
	labels := map[string]string{
		"app":                       name,
		"app.kubernetes.io/name":    name,
		"app.kubernetes.io/part-of": "checkout",
		"app.kubernetes.io/version": "2026.04.15",
		"team":                      "payments",
	}
	res := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)},
		}
	}
	probe := func(path string, port int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(port)}},
			PeriodSeconds:    10,
			FailureThreshold: 3,
		}
	}
	secure := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	d := &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace, Labels: labels,
			UID:             "5f0c1c3e-7f0a-4b8e-9c4e-2d6a1f1b9e01",
			ResourceVersion: "48213", Generation: 7,
			CreationTimestamp: metav1.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC),
			Annotations: map[string]string{
				"deployment.kubernetes.io/revision": "6",
				"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name +
					`","namespace":"` + namespace + `"},"spec":{"replicas":3}}`,
			},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas:             ptr.To[int32](3),
			RevisionHistoryLimit: ptr.To[int32](3),
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromString("25%")), MaxSurge: ptr.To(intstr.FromString("25%")),
			}},
			ProgressDeadlineSeconds: ptr.To[int32](600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName:            name,
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					SecurityContext:               &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](10001), FSGroup: ptr.To[int64](10001)},
					Containers: []corev1.Container{
						{
							Name: "app", Image: image,
							Args:  []string{"--listen=:8080", "--metrics=:9090", "--log-format=json"},
							Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
							Env: []corev1.EnvVar{
								{Name: "DB_HOST", Value: "payments-db.prod.svc"},
								{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
									LocalObjectReference: corev1.LocalObjectReference{Name: "payments-db"}, Key: "password"}}},
								{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
								{Name: "GOMAXPROCS", Value: "2"},
							},
							Resources:       res("500m", "512Mi"),
							ReadinessProbe:  probe("/healthz", 8080),
							LivenessProbe:   probe("/livez", 8080),
							SecurityContext: secure,
							VolumeMounts:    []corev1.VolumeMount{{Name: "config", MountPath: "/etc/payments"}, {Name: "tmp", MountPath: "/tmp"}},
						},
						{
							Name: "proxy", Image: "envoyproxy/envoy:v1.34.1",
							Args:            []string{"-c", "/etc/envoy/envoy.yaml", "--log-level", "warn"},
							Ports:           []corev1.ContainerPort{{Name: "proxy", ContainerPort: 8443}},
							Resources:       res("100m", "128Mi"),
							ReadinessProbe:  probe("/ready", 9901),
							SecurityContext: secure,
							VolumeMounts:    []corev1.VolumeMount{{Name: "envoy", MountPath: "/etc/envoy"}},
						},
						{
							Name: "logs", Image: "fluent/fluent-bit:4.0.3",
							Resources:       res("50m", "64Mi"),
							SecurityContext: secure,
							VolumeMounts:    []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp", ReadOnly: true}},
						},
					},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: name + "-config"}}}},
						{Name: "envoy", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: name + "-envoy"}}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
					}},
				},
			},
		},
	}
	// As stored in an opted-in namespace: the webhook labelled the template when it was created.
	d.Spec.Template.Labels = cloneMap(labels)
	d.Spec.Template.Labels[slogatev1alpha1.RevisionLabel] = revision.Of(&d.Spec.Template)
	return d
}

// settle gives d the status of a finished rollout: every replica updated and available.
func settle(d *appsv1.Deployment) *appsv1.Deployment {
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		},
	}
	return d
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
