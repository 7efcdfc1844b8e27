// Package respcache keeps rendered responses in memory, bounded in bytes,
// and runs one computation for concurrent requests of the same key.
package respcache

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
)

// Response is a rendered body and the number of rows it holds (for logs).
type Response struct {
	Body []byte
	Rows int
}

// entryOverhead approximates an entry's memory beyond its key and body:
// the list element, the map slot and the headers of both.
const entryOverhead = 160

// Cache is a least-recently-used map of responses whose keys, bodies and
// overhead together stay within a byte budget. A nil *Cache caches nothing
// and computes every request.
type Cache struct {
	max int64

	mu      sync.Mutex
	used    int64
	order   *list.List // front: most recently used
	entries map[string]*list.Element
	flights map[string]*flight

	hits, misses, evictions atomic.Uint64
}

type entry struct {
	key  string
	resp Response
}

func (e *entry) size() int64 { return int64(len(e.key)+len(e.resp.Body)) + entryOverhead }

// New is a cache of at most maxBytes; nil when maxBytes is 0 or less.
func New(maxBytes int64) *Cache {
	if maxBytes <= 0 {
		return nil
	}
	return &Cache{max: maxBytes, order: list.New(), entries: map[string]*list.Element{}, flights: map[string]*flight{}}
}

// Stats are the cache's counters and size, for metrics.
type Stats struct {
	Hits, Misses, Evictions uint64
	Bytes, Entries          int64
}

// Stats reads the counters.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Bytes: c.used, Entries: int64(len(c.entries))}
}

// flight is one computation that several callers wait for. It runs on a
// context of its own, cancelled when every caller has gone, so a
// computation nobody waits for any more stops.
type flight struct {
	done    chan struct{}
	resp    Response
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Get is key's cached response, if there is one (counted as a hit).
func (c *Cache) Get(key string) (Response, bool) {
	if c == nil {
		return Response{}, false
	}
	c.mu.Lock()
	el, ok := c.entries[key]
	if ok {
		c.order.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return Response{}, false
	}
	c.hits.Add(1)
	return el.Value.(*entry).resp, true
}

// Do returns key's response: the cached one (hit true), or the one compute
// makes, computed once for all concurrent callers of key and cached when it
// succeeds. compute's context keeps the values and the deadline of the
// first caller's ctx but ends only when every caller's has.
func (c *Cache) Do(ctx context.Context, key string, compute func(context.Context) (Response, error)) (resp Response, hit bool, err error) {
	if c == nil {
		resp, err = compute(ctx)
		return resp, false, err
	}
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		c.hits.Add(1)
		return el.Value.(*entry).resp, true, nil
	}
	c.misses.Add(1)
	f, ok := c.flights[key]
	if !ok {
		f = c.start(ctx, key, compute)
	}
	f.waiters++
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.resp, false, f.err
	case <-ctx.Done():
		c.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			c.forget(key, f) // a caller arriving now starts afresh
		}
		c.mu.Unlock()
		return Response{}, false, ctx.Err()
	}
}

// start runs compute for key; c.mu is held.
func (c *Cache) start(ctx context.Context, key string, compute func(context.Context) (Response, error)) *flight {
	var fctx context.Context
	var cancel context.CancelFunc
	if d, ok := ctx.Deadline(); ok {
		fctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), d)
	} else {
		fctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	f := &flight{done: make(chan struct{}), cancel: cancel}
	c.flights[key] = f
	go func() {
		defer cancel()
		f.resp, f.err = compute(fctx)
		c.mu.Lock()
		c.forget(key, f)
		if f.err == nil {
			c.put(key, f.resp)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

// forget ends f's turn as key's computation; c.mu is held.
func (c *Cache) forget(key string, f *flight) {
	if c.flights[key] == f {
		delete(c.flights, key)
	}
}

// put stores resp under key, evicting the least recently used entries
// until the budget holds; a response larger than an eighth of the budget is
// not kept, so one answer cannot empty the cache. c.mu is held.
func (c *Cache) put(key string, resp Response) {
	e := &entry{key: key, resp: resp}
	if e.size() > c.max/8 {
		return
	}
	if el, ok := c.entries[key]; ok {
		c.used -= el.Value.(*entry).size()
		c.order.Remove(el)
	}
	c.entries[key] = c.order.PushFront(e)
	c.used += e.size()
	for c.used > c.max {
		last := c.order.Back()
		old := last.Value.(*entry)
		c.order.Remove(last)
		delete(c.entries, old.key)
		c.used -= old.size()
		c.evictions.Add(1)
	}
}
