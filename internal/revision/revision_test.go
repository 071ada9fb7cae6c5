package revision

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func template(image string, labels map[string]string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

func TestOf(t *testing.T) {
	base := template("app:v1", map[string]string{"app": "web"})
	tests := map[string]struct {
		other     *corev1.PodTemplateSpec
		wantEqual bool
	}{
		"same template": {
			other: template("app:v1", map[string]string{"app": "web"}), wantEqual: true,
		},
		"slogate label ignored": {
			other:     template("app:v1", map[string]string{"app": "web", "slogate.io/revision": "x"}),
			wantEqual: true,
		},
		"image differs": {
			other: template("app:v2", map[string]string{"app": "web"}), wantEqual: false,
		},
		"user label differs": {
			other: template("app:v1", map[string]string{"app": "web", "tier": "x"}), wantEqual: false,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Equal(base, tc.other); got != tc.wantEqual {
				t.Errorf("Equal() = %v, want %v (revisions %q, %q)", got, tc.wantEqual, Of(base), Of(tc.other))
			}
		})
	}
	if got := Of(base); got == "" || len(got) > 10 {
		t.Errorf("Of() = %q, want a short non-empty hash", got)
	}
	if Of(base) != Of(base.DeepCopy()) {
		t.Error("Of() is not stable")
	}
}
