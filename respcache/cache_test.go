package respcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func fixed(body string) func(context.Context) (Response, error) {
	return func(context.Context) (Response, error) { return Response{Body: []byte(body)}, nil }
}

func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	entry := int64(len("k0")+len("0123456789")) + entryOverhead
	c := New(9 * entry) // nine entries
	ctx := context.Background()
	for i := range 9 {
		c.Do(ctx, fmt.Sprintf("k%d", i), fixed("0123456789"))
	}
	c.Do(ctx, "k0", fixed("changed")) // k0 is now the most recent
	c.Do(ctx, "k9", fixed("0123456789"))
	if _, hit, _ := c.Do(ctx, "k1", fixed("0123456789")); hit {
		t.Errorf("k1, the least recently used, was kept")
	}
	if r, hit, _ := c.Do(ctx, "k0", fixed("changed")); !hit || string(r.Body) != "0123456789" {
		t.Errorf("k0: hit %v body %q", hit, r.Body)
	}
	if r, ok := c.Get("k0"); !ok || string(r.Body) != "0123456789" {
		t.Errorf("Get k0: %v %q", ok, r.Body)
	}
	if _, ok := c.Get("k2"); ok { // evicted by k1 coming back
		t.Errorf("Get of an evicted key hit")
	}
	if st := c.Stats(); st.Bytes > 9*entry || st.Evictions != 2 || st.Entries != 9 || st.Hits != 3 {
		t.Errorf("stats %+v, bound %d", st, 9*entry)
	}
}

func TestOversizedAndFailedAnswersAreNotKept(t *testing.T) {
	c := New(8000)
	ctx := context.Background()
	big := string(make([]byte, 2000))
	c.Do(ctx, "big", fixed(big))
	if _, hit, _ := c.Do(ctx, "big", fixed(big)); hit {
		t.Errorf("an answer over an eighth of the budget was kept")
	}
	fail := func(context.Context) (Response, error) { return Response{}, errors.New("boom") }
	if _, _, err := c.Do(ctx, "f", fail); err == nil {
		t.Fatal("the error was lost")
	}
	if _, hit, _ := c.Do(ctx, "f", fixed("ok")); hit {
		t.Errorf("a failed answer was kept")
	}
}

func TestConcurrentCallersShareOneComputation(t *testing.T) {
	c := New(1 << 20)
	var mu sync.Mutex
	runs := 0
	release := make(chan struct{})
	compute := func(context.Context) (Response, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		<-release
		return Response{Body: []byte("x")}, nil
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, _, err := c.Do(context.Background(), "k", compute); err != nil || string(r.Body) != "x" {
				t.Errorf("%q %v", r.Body, err)
			}
		}()
	}
	for c.waiters("k") < 10 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if runs != 1 {
		t.Errorf("10 concurrent callers ran the computation %d times", runs)
	}
}

func TestComputationStopsWhenEveryCallerHasGone(t *testing.T) {
	c := New(1 << 20)
	stopped := make(chan error, 1)
	compute := func(ctx context.Context) (Response, error) {
		<-ctx.Done()
		stopped <- ctx.Err()
		return Response{}, ctx.Err()
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { _, _, err := c.Do(ctx1, "k", compute); done <- err }()
	go func() { _, _, err := c.Do(ctx2, "k", compute); done <- err }()
	for c.waiters("k") < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel1()
	<-done
	select {
	case <-stopped:
		t.Fatal("the computation stopped while a caller still waited")
	case <-time.After(50 * time.Millisecond):
	}
	cancel2()
	<-done
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("computation ended with %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the computation still runs after every caller left")
	}
	if r, hit, err := c.Do(context.Background(), "k", fixed("fresh")); err != nil || hit || string(r.Body) != "fresh" {
		t.Errorf("a caller after the abandoned computation: %q hit=%v %v", r.Body, hit, err)
	}
}

func TestNilCacheComputesEveryTime(t *testing.T) {
	var c *Cache = New(0)
	n := 0
	for i := range 3 {
		r, hit, _ := c.Do(context.Background(), "k", func(context.Context) (Response, error) {
			n++
			return Response{Body: []byte(fmt.Sprint(i))}, nil
		})
		if hit || string(r.Body) != fmt.Sprint(i) {
			t.Errorf("nil cache answered %q hit=%v", r.Body, hit)
		}
	}
	if n != 3 || c.Stats() != (Stats{}) {
		t.Errorf("%d computations, stats %+v", n, c.Stats())
	}
}

// waiters is how many callers wait for key's computation.
func (c *Cache) waiters(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[key]; ok {
		return f.waiters
	}
	return 0
}
