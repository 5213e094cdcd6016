package sandbox

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// ErrPortInUse is wrapped by errors about a requested port that another
// process already listens on.
var ErrPortInUse = errors.New("port already in use")

// reservePorts picks n distinct free ports on 127.0.0.1. A port given as
// non-zero in fixed is checked instead of picked, and a busy one is an error
// naming the component that wanted it.
func reservePorts(names []string, fixed map[string]int) (map[string]int, error) {
	ports := make(map[string]int, len(names))
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, name := range names {
		want := fixed[name]
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(want)))
		if err != nil {
			if want != 0 {
				return nil, fmt.Errorf("%s: port %d on 127.0.0.1: %w (another process listens on it; free it or choose another port)", name, want, ErrPortInUse)
			}
			return nil, fmt.Errorf("finding a free port for %s: %w", name, err)
		}
		held = append(held, l)
		ports[name] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// checkPortFree returns an ErrPortInUse error if port is taken on 127.0.0.1.
func checkPortFree(component string, port int) error {
	_, err := reservePorts([]string{component}, map[string]int{component: port})
	return err
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
