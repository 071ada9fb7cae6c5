package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FreePorts returns n loopback TCP ports that are free now, for processes that will bind them
// themselves.
//
// A port handed out by listening on 127.0.0.1:0 comes from the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), the same range every outgoing connection on the machine takes its
// source port from: under load (a traffic driver, Prometheus scraping, a second test run) such a port
// is often taken again before the process binds it. FreePorts therefore picks ports below that
// range, which only listeners use, never hands out the same port twice in one process, and checks
// each by binding it. Another run on the machine may still pick the same port; callers retry with
// new ports when a process reports "address already in use".
func FreePorts(n int) ([]int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	low, high := listenerRange()
	out := make([]int, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("finding %d free ports in [%d, %d): gave up after %d tries", n, low, high, tries)
		}
		p := low + rand.IntN(high-low)
		if handedOut[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = l.Close()
		handedOut[p] = true
		out = append(out, p)
	}
	return out, nil
}

// FreePort is FreePorts(1).
func FreePort() (int, error) {
	ps, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}

var (
	portsMu   sync.Mutex
	handedOut = map[int]bool{}
)

// listenerRange is the range FreePorts picks from: from 10000 up to the start of the ephemeral range
// (or a fixed range when the kernel does not say).
func listenerRange() (low, high int) {
	low, high = 10000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return low, high
	}
	if start, err := strconv.Atoi(f[0]); err == nil && start > low+1000 {
		high = start
	}
	return low, high
}
