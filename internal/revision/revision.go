package revision

import (
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/slogate/slogate/api/v1alpha1"
)

// Of returns the revision of a pod template. Templates that differ only in slogate.io/* labels or
// annotations have the same revision.
func Of(t *corev1.PodTemplateSpec) string {
	c := Strip(t)
	// encoding/json writes map keys sorted, so the encoding of a template is deterministic.
	b, err := json.Marshal(c)
	if err != nil {
		// A PodTemplateSpec always marshals; a failure here is a programming error.
		panic(err)
	}
	h := fnv.New32a()
	_, _ = h.Write(b)
	// The same encoding as a ReplicaSet's pod-template-hash: digits mapped to safe characters.
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// Strip returns a copy of t without slogate.io/* labels and annotations.
func Strip(t *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	c := t.DeepCopy()
	c.Labels = withoutSlogate(c.Labels)
	c.Annotations = withoutSlogate(c.Annotations)
	return c
}

// Equal reports whether two templates are the same revision.
func Equal(a, b *corev1.PodTemplateSpec) bool { return Of(a) == Of(b) }

func withoutSlogate(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if strings.HasPrefix(k, v1alpha1.Prefix) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(m))
		}
		out[k] = v
	}
	return out
}
