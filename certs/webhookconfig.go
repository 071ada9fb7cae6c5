package certs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slogatev1alpha1 "github.com/slogate/slogate/api/v1alpha1"
)

// bundleAnnotations reads the bundle serial and publication time of a webhook configuration;
// missing or malformed values read as zero.
func bundleAnnotations(obj client.Object) (int64, time.Time) {
	a := obj.GetAnnotations()
	serial, err := strconv.ParseInt(a[slogatev1alpha1.CABundleSerialAnnotation], 10, 64)
	if err != nil {
		serial = 0
	}
	publishedAt, err := time.Parse(time.RFC3339Nano, a[slogatev1alpha1.CABundlePublishedAtAnnotation])
	if err != nil {
		publishedAt = time.Time{}
	}
	return serial, publishedAt
}

// bundlesEqual reports whether every webhook of obj carries exactly bundle.
func bundlesEqual(obj client.Object, bundle []byte) bool {
	var got [][]byte
	switch c := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for i := range c.Webhooks {
			got = append(got, c.Webhooks[i].ClientConfig.CABundle)
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for i := range c.Webhooks {
			got = append(got, c.Webhooks[i].ClientConfig.CABundle)
		}
	}
	for _, b := range got {
		if !bytes.Equal(b, bundle) {
			return false
		}
	}
	return true
}

// bundlePatch is a JSON patch (RFC 6902) that writes bundle into every webhook of obj and records
// serial and time. It touches only those fields, so fields this client does not know survive, and
// it carries obj's resourceVersion, so the apiserver refuses it with a conflict if obj changed since
// it was read.
func bundlePatch(obj client.Object, bundle []byte, serial int64, now time.Time) client.Patch {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	ops := []op{{Op: "replace", Path: "/metadata/resourceVersion", Value: obj.GetResourceVersion()}}
	if obj.GetAnnotations() == nil {
		ops = append(ops, op{Op: "add", Path: "/metadata/annotations", Value: map[string]string{}})
	}
	ops = append(ops,
		op{Op: "add", Path: "/metadata/annotations/" + jsonPointerEscape(slogatev1alpha1.CABundleSerialAnnotation), Value: strconv.FormatInt(serial, 10)},
		op{Op: "add", Path: "/metadata/annotations/" + jsonPointerEscape(slogatev1alpha1.CABundlePublishedAtAnnotation), Value: now.UTC().Format(time.RFC3339Nano)},
	)
	n := 0
	switch c := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		n = len(c.Webhooks)
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		n = len(c.Webhooks)
	}
	for i := range n {
		// "add" sets a member whether or not it exists; clientConfig always exists.
		ops = append(ops, op{Op: "add", Path: fmt.Sprintf("/webhooks/%d/clientConfig/caBundle", i), Value: bundle})
	}
	data, err := json.Marshal(ops)
	if err != nil {
		// Strings, maps of strings and byte slices always marshal.
		panic(fmt.Sprintf("marshalling a CA bundle patch: %v", err))
	}
	return client.RawPatch(types.JSONPatchType, data)
}

func jsonPointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
