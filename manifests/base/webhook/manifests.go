package webhookmanifests

import _ "embed"

// Mutating is mutating.yaml: the MutatingWebhookConfiguration "slogate".
//
//go:embed mutating.yaml
var Mutating []byte

// Validating is validating.yaml: the ValidatingWebhookConfiguration "slogate".
//
//go:embed validating.yaml
var Validating []byte
