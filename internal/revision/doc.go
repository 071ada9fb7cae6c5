// Package revision computes the slogate revision of a pod template: a short, stable hash of the
// template with slogate's own labels and annotations left out. It is the value of the
// slogate.io/revision label that Services and Prometheus queries select on.
//
// It is not a ReplicaSet's pod-template-hash: that one changes when slogate's labels change.
package revision
