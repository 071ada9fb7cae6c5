// Package webhookmanifests holds slogate's webhook configurations, the YAML beside this file that
// kustomize installs, so that tests register exactly the same hooks with a local API server (with a
// URL and a CA bundle in place of the in-cluster Service).
package webhookmanifests
