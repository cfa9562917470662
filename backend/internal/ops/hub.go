package ops

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hub fans out operation-change notifications from ONE Redis subscription to the waiters of
// this process.
type Hub struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger

	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
	ready   chan struct{}
	once    sync.Once
}

// NewHub returns a Hub listening on channel once Run is called.
func NewHub(rdb redis.UniversalClient, channel string, log *slog.Logger) *Hub {
	return &Hub{rdb: rdb, channel: channel, log: log, waiters: map[string]map[chan struct{}]struct{}{}, ready: make(chan struct{})}
}

// Ready is closed once the subscription is confirmed the first time.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Subscribe registers a waiter for operation id. The channel receives (without blocking the
// hub) after every change; cancel unregisters it.
func (h *Hub) Subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	set := h.waiters[id]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		h.waiters[id] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(set, ch)
		if len(set) == 0 && h.waiters[id] != nil && len(h.waiters[id]) == 0 {
			delete(h.waiters, id)
		}
		h.mu.Unlock()
	}
}

// Notify wakes the local waiters of id.
func (h *Hub) Notify(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.waiters[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Run holds the subscription until ctx ends, resubscribing after errors.
func (h *Hub) Run(ctx context.Context) {
	for ctx.Err() == nil {
		h.runOnce(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) runOnce(ctx context.Context) {
	ps := h.rdb.Subscribe(ctx, h.channel)
	defer func() { _ = ps.Close() }()
	if _, err := ps.Receive(ctx); err != nil {
		if ctx.Err() == nil {
			h.log.WarnContext(ctx, "subscribe to operation changes", "channel", h.channel, "err", err)
		}
		return
	}
	h.once.Do(func() { close(h.ready) })
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			h.Notify(m.Payload)
		}
	}
}
