package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// findPid finds the process whose executable is binary and whose command line holds arg. The
// starters of e2e/slogate do not expose the pid of the process they start; the flags the bench
// passes (a port of its own choosing) name it unambiguously.
func findPid(binary, arg string) (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if args[0] != binary {
			continue
		}
		for _, a := range args[1:] {
			if a == arg {
				return strconv.Atoi(filepath.Base(d))
			}
		}
	}
	return 0, fmt.Errorf("no process %s with argument %s", binary, arg)
}
