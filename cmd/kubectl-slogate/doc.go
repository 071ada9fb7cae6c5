// kubectl-slogate shows and steers slogate's canary releases from the command line. The commands
// live in package cli/plugin; this package only wires them to the process (streams, signals).
//
// Exit status: 0 on success; 1 on an error, a refused action, a preview that would be rejected, or
// a status --watch whose release was rolled back or aborted.
package main
