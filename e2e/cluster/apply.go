package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// decodeYAML splits a multi-document YAML (or JSON) stream into objects, skipping empty documents.
func decodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d has no kind or apiVersion", len(objs)+1)
		}
		objs = append(objs, u)
	}
}

// ApplyYAML applies every object of a multi-document YAML with server-side apply (field manager
// FieldManager, conflicts forced) as the admin. Namespaced objects without a namespace go to namespace.
// It returns the applied objects as the API server returned them.
func (c *Cluster) ApplyYAML(ctx context.Context, namespace string, data []byte) ([]*unstructured.Unstructured, error) {
	objs, err := decodeYAML(data)
	if err != nil {
		return nil, err
	}
	if err := c.applyObjects(ctx, namespace, objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// MustApplyYAML is ApplyYAML that fails the test on error.
func (c *Cluster) MustApplyYAML(t testing.TB, namespace string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := c.ApplyYAML(t.Context(), namespace, data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func (c *Cluster) applyObjects(ctx context.Context, namespace string, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if namespace != "" && o.GetNamespace() == "" {
			namespaced, err := c.client.IsObjectNamespaced(o)
			if err != nil {
				return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
			}
			if namespaced {
				o.SetNamespace(namespace)
			}
		}
		if err := c.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}
	return nil
}

// MustCreateNamespace creates a namespace with labels and waits until its default ServiceAccount exists
// (before that, pods in it are refused). An empty name is made from the test's name and a random suffix. When the test passes,
// the namespace is deleted at cleanup; a failed test leaves it for inspection (the cluster goes at the end).
func (c *Cluster) MustCreateNamespace(t testing.TB, name string, labels map[string]string) *corev1.Namespace {
	t.Helper()
	if name == "" {
		// A suffix keeps a rerun (-count=2) clear of the previous run's namespace, still terminating.
		name = NamespaceName(t.Name()[:min(len(t.Name()), 56)]) + "-" + rand.Text()[:5]
		name = strings.ToLower(name)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.client.Create(t.Context(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		// t.Context() is already canceled when cleanups run.
		if err := c.client.Delete(context.WithoutCancel(t.Context()), ns); client.IgnoreNotFound(err) != nil {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	err := poll(t.Context(), NamespaceReadyTimeout, func(ctx context.Context) (bool, error) {
		return c.serviceAccountExists(ctx, name, "default")
	})
	if err != nil {
		t.Fatalf("waiting for the default ServiceAccount in namespace %s: %v", name, err)
	}
	return ns
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// NamespaceName turns a test name into a valid namespace name (at most 63 characters).
func NamespaceName(testName string) string {
	name := nonDNS.ReplaceAllString(strings.ToLower(testName), "-")
	name = strings.Trim(name, "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	if name == "" {
		name = "test"
	}
	return name
}

// MustPoll polls cond every PollInterval until it returns true, and fails the test if it returns an error
// or timeout passes; what says what was awaited.
func MustPoll(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := poll(t.Context(), timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
