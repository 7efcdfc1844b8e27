package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/usagelens/usagelens/auth"
)

// apiClient sends requests to one API server (the fasthttp service, its
// net/http variant, or a child process) with a token per client. It is the
// same plain net/http client for every side of a comparison, so client
// costs cancel out of the ratios.
type apiClient struct {
	http   *http.Client
	base   string
	tokens map[string]string
}

// newTransport keeps up to conns connections alive per host and never asks
// for compression: the figures are for plain CSV and JSON.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      64 << 10,
	}
}

func newAPIClient(base string, key []byte, clients []string, conns int) *apiClient {
	c := &apiClient{http: &http.Client{Transport: newTransport(conns)}, base: strings.TrimRight(base, "/"), tokens: map[string]string{}}
	c.addTokens(key, clients)
	return c
}

// addTokens mints a token for each client that has none yet. A malformed
// client id (from a request log) gets none: its requests are sent without
// one and counted as the errors the service answers them with.
func (c *apiClient) addTokens(key []byte, clients []string) {
	for _, id := range clients {
		if _, ok := c.tokens[id]; ok {
			continue
		}
		if tok, err := auth.Mint(key, id, 24*time.Hour, time.Now()); err == nil {
			c.tokens[id] = tok
		}
	}
}

func (c *apiClient) close() { c.http.CloseIdleConnections() }

// response is what one request gave: status, body size, and for JSON
// pages the next cursor.
type response struct {
	status int
	bytes  int64
	lines  int64
	next   *string
	cache  string // the X-Cache header: hit, miss or none
	err    error
	body   []byte // the start of an error body, for the report
}

// sink counts what a streamed body holds without keeping it.
type sink struct{ bytes, lines int64 }

func (s *sink) Write(p []byte) (int, error) {
	s.bytes += int64(len(p))
	s.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// get sends GET base+path with the client's token. CSV bodies are streamed
// into a counter; JSON bodies are read whole, and decoded when the caller
// needs next_cursor.
func (c *apiClient) get(ctx context.Context, path, client string, wantCursor bool, buf *bytes.Buffer) response {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return response{err: fmt.Errorf("cannot build request %s: %w", truncate(path, 80), err)}
	}
	if tok, ok := c.tokens[client]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return do(c.http, req, wantCursor, buf)
}

func do(hc *http.Client, req *http.Request, wantCursor bool, buf *bytes.Buffer) response {
	resp, err := hc.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, cache: resp.Header.Get("X-Cache")}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		r.body = b
		return r
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		buf.Reset()
		n, err := buf.ReadFrom(resp.Body)
		r.bytes, r.err = n, err
		if err == nil && wantCursor {
			var page struct {
				NextCursor *string `json:"next_cursor"`
			}
			if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
				r.err = fmt.Errorf("cannot decode a utilization page: %w", err)
			}
			r.next = page.NextCursor
		}
		return r
	}
	var s sink
	_, err = io.CopyBuffer(&s, resp.Body, make([]byte, 256<<10))
	r.bytes, r.lines, r.err = s.bytes, s.lines, err
	return r
}

// failure describes a response that is not a success, or "" for a success.
func (r response) failure() string {
	switch {
	case r.err != nil:
		return r.err.Error()
	case r.status != http.StatusOK:
		return fmt.Sprintf("HTTP %d: %s", r.status, strings.TrimSpace(string(r.body)))
	}
	return ""
}

// timedGet is get with the wall time from sending the request to reading
// the last byte of the body.
func (c *apiClient) timedGet(ctx context.Context, path, client string, wantCursor bool, buf *bytes.Buffer) (time.Duration, response) {
	start := time.Now()
	r := c.get(ctx, path, client, wantCursor, buf)
	return time.Since(start), r
}
