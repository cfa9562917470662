package auth

import (
	"sync"
	"time"
)

// principalCache keeps recently authenticated credentials (by hash) for a short TTL so a busy
// client costs one query every TTL instead of one per request.
type principalCache struct {
	ttl     time.Duration
	mu      sync.RWMutex
	entries map[string]cacheEntry
	// revoked holds keys revoked within the last TTL and when that ends: put refuses them, so
	// a lookup that read the row just before the revocation cannot cache it again afterwards.
	revoked map[string]time.Time
}

type cacheEntry struct {
	p   *Principal
	exp time.Time
}

const cacheMaxEntries = 50000

func newPrincipalCache(ttl time.Duration) *principalCache {
	return &principalCache{ttl: ttl, entries: make(map[string]cacheEntry), revoked: make(map[string]time.Time)}
}

func (c *principalCache) get(hash string, now time.Time) *Principal {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || now.After(e.exp) {
		return nil
	}
	return e.p
}

// put stores p until now+ttl, but never past notAfter (the credential's own expiry).
func (c *principalCache) put(hash string, p *Principal, now time.Time, notAfter *time.Time) {
	if c.ttl <= 0 {
		return
	}
	exp := now.Add(c.ttl)
	if notAfter != nil && notAfter.Before(exp) {
		exp = *notAfter
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.revoked[hash]; ok && !now.After(until) {
		return
	}
	if len(c.entries) >= cacheMaxEntries {
		for k, e := range c.entries {
			if now.After(e.exp) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= cacheMaxEntries {
			clear(c.entries)
		}
	}
	c.entries[hash] = cacheEntry{p: p, exp: exp}
}

func (c *principalCache) drop(hash string) {
	c.mu.Lock()
	delete(c.entries, hash)
	c.mu.Unlock()
}

// revoke forgets the credentials of keys for good: for the next TTL put refuses them too, which
// closes the race with a lookup that read a revoked row before it was deleted. Call it after
// the rows are deleted.
func (c *principalCache) revoke(now time.Time, keys ...string) {
	if c.ttl <= 0 || len(keys) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.revoked)+len(keys) > cacheMaxEntries {
		for k, until := range c.revoked {
			if now.After(until) {
				delete(c.revoked, k)
			}
		}
	}
	// put compares with the clock its lookup read before querying: a lookup that could still
	// see a deleted row started before now, so a tombstone until now+TTL refuses it.
	until := now.Add(c.ttl)
	for _, k := range keys {
		delete(c.entries, k)
		if len(c.revoked) < cacheMaxEntries {
			c.revoked[k] = until
		}
	}
}

// dropUser forgets every cached credential of a user.
func (c *principalCache) dropUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.p.User.ID == userID {
			delete(c.entries, k)
		}
	}
}
