// Package plugin is the kubectl-slogate command tree: list, status, promote, abort, retry and
// preview, built with cobra and k8s.io/cli-runtime the way kubectl plugins are (the usual
// --kubeconfig, --context, --namespace flags; -o json|yaml through cli-runtime's printers). It reads
// and writes the API; what it shows and what it decides come from package cli.
//
// It is not the release engine: promote, abort and retry only set the slogate.io/action annotation
// on the Deployment (a JSON merge patch); the analyzer takes the action and removes the annotation.
//
// Choices where DESIGN.md is silent:
//   - NAME is a Deployment name; a Release name is accepted too. The Release shown or acted on is the
//     Deployment's current one (see cli.CurrentRelease).
//   - An action is refused when another one is still pending on the Deployment (the analyzer has not
//     taken it yet); asking again for the same action is not an error.
//   - status --watch follows the Deployment from release to release and ends when its current
//     release ends: exit status 0 when it Succeeded, 1 when it was RolledBack or Aborted (so that CI
//     can wait on it, like `kubectl rollout status`). On a terminal it redraws the view; on a pipe it
//     appends a new view on every change.
//   - preview is `kubectl apply --server-side --force-conflicts --dry-run=server` (field manager
//     "kubectl" unless --field-manager says otherwise): the file's fields win, fields it leaves out
//     keep their live values. It exits 1 when a change would be rejected.
//   - preview resolves the policy with the analyzer's own resolution (analyzer/policy.Resolve), so it
//     names the policy and steps the release would really get.
//   - When the Namespace cannot be read (RBAC), the opt-in check is skipped rather than guessed.
package plugin
