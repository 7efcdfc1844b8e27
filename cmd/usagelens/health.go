package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealth probes a health route, for container healthchecks in an image
// without a shell or curl: exit 0 when the URL answers 200, else 1.
func runHealth(args []string) error {
	fs := newFlags("health")
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "URL to GET; healthy when it answers 200")
	timeout := fs.Duration("timeout", 3*time.Second, "limit of the whole request")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("cannot build the request for %s: %w", *url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", *url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *url, resp.Status)
	}
	return nil
}
