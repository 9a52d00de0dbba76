package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"sync"
	"time"
)

// Client makes the HTTP requests of index lookups and downloads: basic
// authentication from Credentials, retries with exponential backoff on
// connection errors, 5xx and 429 responses, and timeouts for connecting,
// for the response headers and for a body that stops sending data.
type Client struct {
	http    *http.Client
	retries int
	backoff time.Duration
	timeout time.Duration
	agent   string

	// dead holds the hosts whose names did not resolve: they are not asked again in this run.
	deadMu sync.Mutex
	dead   map[string]*UnreachableError
}

// UnreachableError is a package source whose host name does not resolve (no network, a typo, a private index
// outside its network). It is never retried: every later request to the host fails at once with the same error,
// so a build says it once instead of once per requirement and attempt.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v; if every artifact is in --find-links, add --no-index (or no-index = true in [tool.venvpkg]), else check the index URL and the network", e.Host, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ClientOptions configure a Client; zero values take the defaults.
type ClientOptions struct {
	Credentials *Credentials
	Retries     int           // attempts after the first; default 4
	Backoff     time.Duration // first retry delay, doubled each time; default 500ms
	Timeout     time.Duration // connect, response header and idle body timeout; default 60s
	UserAgent   string
}

// NewClient returns a Client.
func NewClient(o ClientOptions) *Client {
	if o.Retries == 0 {
		o.Retries = 4
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "venvpkg"
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	var rt http.RoundTripper = tr
	if o.Credentials != nil {
		rt = &authTransport{creds: o.Credentials, next: tr}
	}
	return &Client{
		http:    &http.Client{Transport: rt},
		retries: o.Retries,
		backoff: o.Backoff,
		timeout: o.Timeout,
		agent:   o.UserAgent,
	}
}

// StatusError is an HTTP response status that ends a request.
type StatusError struct {
	URL    string // without credentials
	Status string
	Code   int

	retryAfter time.Duration // from a 429's Retry-After, capped
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %s", Redact(e.URL), e.Status)
	switch e.Code {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += "; give credentials in the URL (https://user:password@host/...) or in ~/.netrc (or $NETRC)"
	}
	return msg
}

// retryable reports whether a response status is worth another attempt.
func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported
}

// response is an open response whose body is guarded by the idle timeout.
type response struct {
	*http.Response
	cancel context.CancelFunc
}

func (r *response) Close() error {
	err := r.Body.Close()
	r.cancel()
	return err
}

// get performs GET url with header, retrying as the Client says. ok lists
// the statuses returned to the caller (200 is always among them); any other
// final status is a *StatusError. The caller must Close the response.
func (c *Client) get(ctx context.Context, url string, header http.Header, ok ...int) (*response, error) {
	host := hostOf(url)
	c.deadMu.Lock()
	dead := c.dead[host]
	c.deadMu.Unlock()
	if dead != nil {
		return nil, dead
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			delay := c.backoff << (attempt - 1)
			var se *StatusError
			if errors.As(lastErr, &se) && se.Code == http.StatusTooManyRequests {
				delay = max(delay, se.retryAfter)
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		resp, err := c.once(ctx, url, header)
		if err == nil {
			if resp.StatusCode == http.StatusOK || containsInt(ok, resp.StatusCode) {
				return resp, nil
			}
			se := &StatusError{URL: url, Status: resp.Status, Code: resp.StatusCode}
			if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
				se.retryAfter = min(time.Duration(n)*time.Second, 30*time.Second)
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Close()
			if !retryable(resp.StatusCode) {
				return nil, se
			}
			err = se
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		} else if ue := c.unresolved(host, err); ue != nil {
			return nil, ue
		}
		lastErr = err
		if attempt >= c.retries {
			if attempt > 0 {
				return nil, fmt.Errorf("%w (after %d attempts)", lastErr, attempt+1)
			}
			return nil, lastErr
		}
	}
}

// unresolved records host as unreachable when err is a failed name lookup, and returns the error to report.
func (c *Client) unresolved(host string, err error) *UnreachableError {
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || dnsErr.IsTimeout {
		return nil
	}
	c.deadMu.Lock()
	defer c.deadMu.Unlock()
	if c.dead == nil {
		c.dead = map[string]*UnreachableError{}
	}
	if prev := c.dead[host]; prev != nil {
		return prev
	}
	ue := &UnreachableError{Host: host, Err: dnsErr}
	c.dead[host] = ue
	return ue
}

// hostOf returns the host of a URL, without credentials or port.
func hostOf(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Hostname()
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// once makes one request. The body read is cancelled when no data arrives
// for the idle timeout.
func (c *Client) once(ctx context.Context, url string, header http.Header) (*response, error) {
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("GET %s: %w", Redact(url), err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, &requestError{url: url, err: unwrapURLError(err)}
	}
	resp.Body = &idleBody{r: resp.Body, timeout: c.timeout, cancel: cancel, url: url}
	resp.Body.(*idleBody).arm()
	return &response{Response: resp, cancel: cancel}, nil
}

// requestError is a request that got no response; it keeps the cause for errors.As.
type requestError struct {
	url string
	err error
}

func (e *requestError) Error() string {
	return fmt.Sprintf("GET %s: %s", Redact(e.url), Redact(e.err.Error()))
}

func (e *requestError) Unwrap() error { return e.err }

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// idleBody cancels its request when a Read waits longer than timeout.
type idleBody struct {
	r       io.ReadCloser
	timeout time.Duration
	cancel  context.CancelFunc
	url     string
	mu      sync.Mutex
	timer   *time.Timer
	expired bool
}

func (b *idleBody) arm() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer == nil {
		b.timer = time.AfterFunc(b.timeout, func() {
			b.mu.Lock()
			b.expired = true
			b.mu.Unlock()
			b.cancel()
		})
		return
	}
	b.timer.Reset(b.timeout)
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.arm()
	}
	if err != nil && err != io.EOF {
		b.mu.Lock()
		expired := b.expired
		b.mu.Unlock()
		if expired {
			return n, fmt.Errorf("GET %s: no data received for %s; the server stalled", Redact(b.url), b.timeout)
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	return b.r.Close()
}
