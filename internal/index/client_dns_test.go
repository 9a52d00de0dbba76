package index

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestUnresolvedHostIsNotRetried: a host whose name does not resolve fails at once, with one lookup for the whole
// run, and the error names --no-index and the [tool.venvpkg] key.
func TestUnresolvedHostIsNotRetried(t *testing.T) {
	c := NewClient(ClientOptions{Retries: 4, Backoff: time.Hour})
	var dials atomic.Int32
	c.http.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, &net.DNSError{Err: "no such host", Name: "pkgs.invalid", IsNotFound: true}
	}
	for i := 0; i < 3; i++ {
		_, err := c.get(context.Background(), "https://user:pw@pkgs.invalid/simple/flask/", nil)
		var ue *UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("get error = %v, want an *UnreachableError", err)
		}
		for _, want := range []string{"cannot reach pkgs.invalid", "--no-index", "no-index = true in [tool.venvpkg]"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("error %q shows the password", err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connection attempts to a host that does not resolve, want 1 (no retries, remembered)", n)
	}

	// A timeout is not a verdict on the name: it is retried.
	c = NewClient(ClientOptions{Retries: 2, Backoff: time.Millisecond})
	dials.Store(0)
	c.http.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, &net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}
	}
	_, err := c.get(context.Background(), "https://slow.example/simple/flask/", nil)
	var ue *UnreachableError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("get error = %v, want a plain error after retries", err)
	}
	if n := dials.Load(); n != 3 {
		t.Errorf("%d attempts after DNS timeouts, want 3 (the first and 2 retries)", n)
	}
}
